"""Chat: conversations, messages, history, read and heard state, edits and recalls."""
