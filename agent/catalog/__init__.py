"""The catalog of choices: model, signature verification and refresh at boot."""
