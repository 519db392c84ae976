"""Device simulators on pseudo-terminals: the door board (our firmware on a fake ``machine``),
the passport reader and the R30x/AS608 fingerprint sensor. Each opens a pty pair, serves the
device's protocol on the master side and hands out the slave's path, so the edge drivers talk
to them with pyserial exactly as to the real devices.
"""
