"""Derive training samples from labelled trees: extract shortcut and journey paths, reflect on
each detour, linearise them into text (templates or an LLM rewrite checked for fidelity)."""
