"""Text analysis shared by the text and post detectors: word spans over the original text (so every score
points back to characters a person can read), hashed TF-IDF features, sentence encoders, claim context, named
entities, topic domains, and a small logistic-regression solver that all of them train with."""
