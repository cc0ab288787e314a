"""Prompt and phrase files (text, not code), shipped inside the wheel as journeygen.prompt_files."""
