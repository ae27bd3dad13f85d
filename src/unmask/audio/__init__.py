"""Speech analysis building blocks shared by the audio detectors: decoding to 16 kHz mono in bounded blocks
(`signal`), voice activity (`vad`), cepstral features (`lfcc`) and per-window scoring into a score track and
segments (`windows`)."""
