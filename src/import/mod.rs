//! Importers for the hash-set formats examiners receive.
