"""What the operating system says about this process, for every framework: its clocks and the
machine's steal time (`clock`), its resident memory (`memory`). The TensorFlow probes and the
backend lane read both through here."""
