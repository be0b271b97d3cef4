"""A board build: the SmartQuant device and the FGMP VMAC behind a UART host bridge (``make bitstream``)."""
