"""The `hubbub chat` terminal client (Textual), built on `hubbub.client`."""
