"""One-off tools on finished weights folders (no training): ``soup`` (interpolate two gan
decoders), ``rebase`` (move a gan onto a newer l1 decoder), ``upload`` (push a weights folder
to the Hugging Face Hub). Each runs as ``python -m explorable_jpeg_train.tools.<name>``."""
