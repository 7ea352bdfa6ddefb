"""vandamme: an LLM gateway that speaks the Anthropic and OpenAI dialects."""
