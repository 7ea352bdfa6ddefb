"""Cloud credentials behind the Bedrock and Vertex authorizers, each imported on first use."""
