/* Placeholder: the libjpeg driver is written by the decode module's work. */
int mediahash_csrc_placeholder(void) { return 0; }
