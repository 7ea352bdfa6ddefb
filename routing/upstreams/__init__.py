"""Upstream adapters: one module per wire format vandamme speaks to a provider."""
