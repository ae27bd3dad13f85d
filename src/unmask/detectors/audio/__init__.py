"""Speech detectors, one module per method: each scores windows of the audio (of an audio file, or the sound
track of a video) and reports the stretches of likely synthetic speech as segments."""
