//! PDQ's frequency-domain steps: the 16x64 DCT matrix, the 64x64 → 16x16 DCT, the quality
//! metric, the median threshold and the dihedral sign/transpose rules. Every float operation is
//! done in the order of the C++ reference (`pdq/cpp/hashing/pdqhashing.cpp`); only the loop
//! nesting differs, so that independent sums run side by side.

/// The C++ matrix as IEEE-754 binary32 bit patterns, row i = frequency i+1, column j = sample.
///
/// The C++ computes `(float)((double)(float)sqrt(2.0/64) * cos((pi/2.0/64) * (i+1) * (2j+1)))`
/// at start-up with the platform's `cos`. Storing the bits instead keeps the hash independent of
/// the libm a build links against; a test recomputes the formula and checks these against the
/// dump from the C++ build.
const DCT_MATRIX_BITS: [[u32; 64]; 16] = [
    [
        0x3e34f6fe, 0x3e348763, 0x3e33a872, 0x3e325ab4, 0x3e309ef6, 0x3e2e764c, 0x3e2be20a,
        0x3e28e3c6, 0x3e257d59, 0x3e21b0dd, 0x3e1d80a8, 0x3e18ef51, 0x3e13ffa8, 0x3e0eb4b9,
        0x3e0911c7, 0x3e031a4c, 0x3df9a3ed, 0x3dec794d, 0x3ddebcd5, 0x3dd076ff, 0x3dc1b098,
        0x3db272bd, 0x3da2c6d5, 0x3d92b689, 0x3d824bc1, 0x3d63213d, 0x3d411ee4, 0x3d1ea570,
        0x3cf7944a, 0x3cb14504, 0x3c5510d4, 0x3b8e2871, 0xbb8e2871, 0xbc5510d4, 0xbcb14504,
        0xbcf7944a, 0xbd1ea570, 0xbd411ee4, 0xbd63213d, 0xbd824bc1, 0xbd92b689, 0xbda2c6d5,
        0xbdb272bd, 0xbdc1b098, 0xbdd076ff, 0xbddebcd5, 0xbdec794d, 0xbdf9a3ed, 0xbe031a4c,
        0xbe0911c7, 0xbe0eb4b9, 0xbe13ffa8, 0xbe18ef51, 0xbe1d80a8, 0xbe21b0dd, 0xbe257d59,
        0xbe28e3c6, 0xbe2be20a, 0xbe2e764c, 0xbe309ef6, 0xbe325ab4, 0xbe33a872, 0xbe348763,
        0xbe34f6fe,
    ],
    [
        0x3e34cd21, 0x3e330f61, 0x3e2f982b, 0x3e2a700c, 0x3e23a3b9, 0x3e1b43f5, 0x3e116566,
        0x3e062061, 0x3df3215c, 0x3dd7aa8b, 0x3dba2005, 0x3d9aca9e, 0x3d73ef2f, 0x3d2fefbb,
        0x3cd47d09, 0x3c0e1d7b, 0xbc0e1d7b, 0xbcd47d09, 0xbd2fefbb, 0xbd73ef2f, 0xbd9aca9e,
        0xbdba2005, 0xbdd7aa8b, 0xbdf3215c, 0xbe062061, 0xbe116566, 0xbe1b43f5, 0xbe23a3b9,
        0xbe2a700c, 0xbe2f982b, 0xbe330f61, 0xbe34cd21, 0xbe34cd21, 0xbe330f61, 0xbe2f982b,
        0xbe2a700c, 0xbe23a3b9, 0xbe1b43f5, 0xbe116566, 0xbe062061, 0xbdf3215c, 0xbdd7aa8b,
        0xbdba2005, 0xbd9aca9e, 0xbd73ef2f, 0xbd2fefbb, 0xbcd47d09, 0xbc0e1d7b, 0x3c0e1d7b,
        0x3cd47d09, 0x3d2fefbb, 0x3d73ef2f, 0x3d9aca9e, 0x3dba2005, 0x3dd7aa8b, 0x3df3215c,
        0x3e062061, 0x3e116566, 0x3e1b43f5, 0x3e23a3b9, 0x3e2a700c, 0x3e2f982b, 0x3e330f61,
        0x3e34cd21,
    ],
    [
        0x3e348763, 0x3e309ef6, 0x3e28e3c6, 0x3e1d80a8, 0x3e0eb4b9, 0x3df9a3ed, 0x3dd076ff,
        0x3da2c6d5, 0x3d63213d, 0x3cf7944a, 0x3b8e2871, 0xbcb14504, 0xbd411ee4, 0xbd92b689,
        0xbdc1b098, 0xbdec794d, 0xbe0911c7, 0xbe18ef51, 0xbe257d59, 0xbe2e764c, 0xbe33a872,
        0xbe34f6fe, 0xbe325ab4, 0xbe2be20a, 0xbe21b0dd, 0xbe13ffa8, 0xbe031a4c, 0xbddebcd5,
        0xbdb272bd, 0xbd824bc1, 0xbd1ea570, 0xbc5510d4, 0x3c5510d4, 0x3d1ea570, 0x3d824bc1,
        0x3db272bd, 0x3ddebcd5, 0x3e031a4c, 0x3e13ffa8, 0x3e21b0dd, 0x3e2be20a, 0x3e325ab4,
        0x3e34f6fe, 0x3e33a872, 0x3e2e764c, 0x3e257d59, 0x3e18ef51, 0x3e0911c7, 0x3dec794d,
        0x3dc1b098, 0x3d92b689, 0x3d411ee4, 0x3cb14504, 0xbb8e2871, 0xbcf7944a, 0xbd63213d,
        0xbda2c6d5, 0xbdd076ff, 0xbdf9a3ed, 0xbe0eb4b9, 0xbe1d80a8, 0xbe28e3c6, 0xbe309ef6,
        0xbe348763,
    ],
    [
        0x3e3425ce, 0x3e2d3986, 0x3e1fa512, 0x3e0bee0a, 0x3de5acc6, 0x3daaa9f2, 0x3d523045,
        0x3c8df1a9, 0xbc8df1a9, 0xbd523045, 0xbdaaa9f2, 0xbde5acc6, 0xbe0bee0a, 0xbe1fa512,
        0xbe2d3986, 0xbe3425ce, 0xbe3425ce, 0xbe2d3986, 0xbe1fa512, 0xbe0bee0a, 0xbde5acc6,
        0xbdaaa9f2, 0xbd523045, 0xbc8df1a9, 0x3c8df1a9, 0x3d523045, 0x3daaa9f2, 0x3de5acc6,
        0x3e0bee0a, 0x3e1fa512, 0x3e2d3986, 0x3e3425ce, 0x3e3425ce, 0x3e2d3986, 0x3e1fa512,
        0x3e0bee0a, 0x3de5acc6, 0x3daaa9f2, 0x3d523045, 0x3c8df1a9, 0xbc8df1a9, 0xbd523045,
        0xbdaaa9f2, 0xbde5acc6, 0xbe0bee0a, 0xbe1fa512, 0xbe2d3986, 0xbe3425ce, 0xbe3425ce,
        0xbe2d3986, 0xbe1fa512, 0xbe0bee0a, 0xbde5acc6, 0xbdaaa9f2, 0xbd523045, 0xbc8df1a9,
        0x3c8df1a9, 0x3d523045, 0x3daaa9f2, 0x3de5acc6, 0x3e0bee0a, 0x3e1fa512, 0x3e2d3986,
        0x3e3425ce,
    ],
    [
        0x3e33a872, 0x3e28e3c6, 0x3e13ffa8, 0x3dec794d, 0x3da2c6d5, 0x3d1ea570, 0xbb8e2871,
        0xbd411ee4, 0xbdb272bd, 0xbdf9a3ed, 0xbe18ef51, 0xbe2be20a, 0xbe348763, 0xbe325ab4,
        0xbe257d59, 0xbe0eb4b9, 0xbddebcd5, 0xbd92b689, 0xbcf7944a, 0x3c5510d4, 0x3d63213d,
        0x3dc1b098, 0x3e031a4c, 0x3e1d80a8, 0x3e2e764c, 0x3e34f6fe, 0x3e309ef6, 0x3e21b0dd,
        0x3e0911c7, 0x3dd076ff, 0x3d824bc1, 0x3cb14504, 0xbcb14504, 0xbd824bc1, 0xbdd076ff,
        0xbe0911c7, 0xbe21b0dd, 0xbe309ef6, 0xbe34f6fe, 0xbe2e764c, 0xbe1d80a8, 0xbe031a4c,
        0xbdc1b098, 0xbd63213d, 0xbc5510d4, 0x3cf7944a, 0x3d92b689, 0x3ddebcd5, 0x3e0eb4b9,
        0x3e257d59, 0x3e325ab4, 0x3e348763, 0x3e2be20a, 0x3e18ef51, 0x3df9a3ed, 0x3db272bd,
        0x3d411ee4, 0x3b8e2871, 0xbd1ea570, 0xbda2c6d5, 0xbdec794d, 0xbe13ffa8, 0xbe28e3c6,
        0xbe33a872,
    ],
    [
        0x3e330f61, 0x3e23a3b9, 0x3e062061, 0x3dba2005, 0x3d2fefbb, 0xbc0e1d7b, 0xbd73ef2f,
        0xbdd7aa8b, 0xbe116566, 0xbe2a700c, 0xbe34cd21, 0xbe2f982b, 0xbe1b43f5, 0xbdf3215c,
        0xbd9aca9e, 0xbcd47d09, 0x3cd47d09, 0x3d9aca9e, 0x3df3215c, 0x3e1b43f5, 0x3e2f982b,
        0x3e34cd21, 0x3e2a700c, 0x3e116566, 0x3dd7aa8b, 0x3d73ef2f, 0x3c0e1d7b, 0xbd2fefbb,
        0xbdba2005, 0xbe062061, 0xbe23a3b9, 0xbe330f61, 0xbe330f61, 0xbe23a3b9, 0xbe062061,
        0xbdba2005, 0xbd2fefbb, 0x3c0e1d7b, 0x3d73ef2f, 0x3dd7aa8b, 0x3e116566, 0x3e2a700c,
        0x3e34cd21, 0x3e2f982b, 0x3e1b43f5, 0x3df3215c, 0x3d9aca9e, 0x3cd47d09, 0xbcd47d09,
        0xbd9aca9e, 0xbdf3215c, 0xbe1b43f5, 0xbe2f982b, 0xbe34cd21, 0xbe2a700c, 0xbe116566,
        0xbdd7aa8b, 0xbd73ef2f, 0xbc0e1d7b, 0x3d2fefbb, 0x3dba2005, 0x3e062061, 0x3e23a3b9,
        0x3e330f61,
    ],
    [
        0x3e325ab4, 0x3e1d80a8, 0x3dec794d, 0x3d824bc1, 0x3b8e2871, 0xbd63213d, 0xbddebcd5,
        0xbe18ef51, 0xbe309ef6, 0xbe33a872, 0xbe21b0dd, 0xbdf9a3ed, 0xbd92b689, 0xbc5510d4,
        0x3d411ee4, 0x3dd076ff, 0x3e13ffa8, 0x3e2e764c, 0x3e348763, 0x3e257d59, 0x3e031a4c,
        0x3da2c6d5, 0x3cb14504, 0xbd1ea570, 0xbdc1b098, 0xbe0eb4b9, 0xbe2be20a, 0xbe34f6fe,
        0xbe28e3c6, 0xbe0911c7, 0xbdb272bd, 0xbcf7944a, 0x3cf7944a, 0x3db272bd, 0x3e0911c7,
        0x3e28e3c6, 0x3e34f6fe, 0x3e2be20a, 0x3e0eb4b9, 0x3dc1b098, 0x3d1ea570, 0xbcb14504,
        0xbda2c6d5, 0xbe031a4c, 0xbe257d59, 0xbe348763, 0xbe2e764c, 0xbe13ffa8, 0xbdd076ff,
        0xbd411ee4, 0x3c5510d4, 0x3d92b689, 0x3df9a3ed, 0x3e21b0dd, 0x3e33a872, 0x3e309ef6,
        0x3e18ef51, 0x3ddebcd5, 0x3d63213d, 0xbb8e2871, 0xbd824bc1, 0xbdec794d, 0xbe1d80a8,
        0xbe325ab4,
    ],
    [
        0x3e318a85, 0x3e168317, 0x3dc9234e, 0x3d0d42af, 0xbd0d42af, 0xbdc9234e, 0xbe168317,
        0xbe318a85, 0xbe318a85, 0xbe168317, 0xbdc9234e, 0xbd0d42af, 0x3d0d42af, 0x3dc9234e,
        0x3e168317, 0x3e318a85, 0x3e318a85, 0x3e168317, 0x3dc9234e, 0x3d0d42af, 0xbd0d42af,
        0xbdc9234e, 0xbe168317, 0xbe318a85, 0xbe318a85, 0xbe168317, 0xbdc9234e, 0xbd0d42af,
        0x3d0d42af, 0x3dc9234e, 0x3e168317, 0x3e318a85, 0x3e318a85, 0x3e168317, 0x3dc9234e,
        0x3d0d42af, 0xbd0d42af, 0xbdc9234e, 0xbe168317, 0xbe318a85, 0xbe318a85, 0xbe168317,
        0xbdc9234e, 0xbd0d42af, 0x3d0d42af, 0x3dc9234e, 0x3e168317, 0x3e318a85, 0x3e318a85,
        0x3e168317, 0x3dc9234e, 0x3d0d42af, 0xbd0d42af, 0xbdc9234e, 0xbe168317, 0xbe318a85,
        0xbe318a85, 0xbe168317, 0xbdc9234e, 0xbd0d42af, 0x3d0d42af, 0x3dc9234e, 0x3e168317,
        0x3e318a85,
    ],
    [
        0x3e309ef6, 0x3e0eb4b9, 0x3da2c6d5, 0x3b8e2871, 0xbd92b689, 0xbe0911c7, 0xbe2e764c,
        0xbe325ab4, 0xbe13ffa8, 0xbdb272bd, 0xbc5510d4, 0x3d824bc1, 0x3e031a4c, 0x3e2be20a,
        0x3e33a872, 0x3e18ef51, 0x3dc1b098, 0x3cb14504, 0xbd63213d, 0xbdf9a3ed, 0xbe28e3c6,
        0xbe348763, 0xbe1d80a8, 0xbdd076ff, 0xbcf7944a, 0x3d411ee4, 0x3dec794d, 0x3e257d59,
        0x3e34f6fe, 0x3e21b0dd, 0x3ddebcd5, 0x3d1ea570, 0xbd1ea570, 0xbddebcd5, 0xbe21b0dd,
        0xbe34f6fe, 0xbe257d59, 0xbdec794d, 0xbd411ee4, 0x3cf7944a, 0x3dd076ff, 0x3e1d80a8,
        0x3e348763, 0x3e28e3c6, 0x3df9a3ed, 0x3d63213d, 0xbcb14504, 0xbdc1b098, 0xbe18ef51,
        0xbe33a872, 0xbe2be20a, 0xbe031a4c, 0xbd824bc1, 0x3c5510d4, 0x3db272bd, 0x3e13ffa8,
        0x3e325ab4, 0x3e2e764c, 0x3e0911c7, 0x3d92b689, 0xbb8e2871, 0xbda2c6d5, 0xbe0eb4b9,
        0xbe309ef6,
    ],
    [
        0x3e2f982b, 0x3e062061, 0x3d73ef2f, 0xbcd47d09, 0xbdd7aa8b, 0xbe23a3b9, 0xbe34cd21,
        0xbe1b43f5, 0xbdba2005, 0xbc0e1d7b, 0x3d9aca9e, 0x3e116566, 0x3e330f61, 0x3e2a700c,
        0x3df3215c, 0x3d2fefbb, 0xbd2fefbb, 0xbdf3215c, 0xbe2a700c, 0xbe330f61, 0xbe116566,
        0xbd9aca9e, 0x3c0e1d7b, 0x3dba2005, 0x3e1b43f5, 0x3e34cd21, 0x3e23a3b9, 0x3dd7aa8b,
        0x3cd47d09, 0xbd73ef2f, 0xbe062061, 0xbe2f982b, 0xbe2f982b, 0xbe062061, 0xbd73ef2f,
        0x3cd47d09, 0x3dd7aa8b, 0x3e23a3b9, 0x3e34cd21, 0x3e1b43f5, 0x3dba2005, 0x3c0e1d7b,
        0xbd9aca9e, 0xbe116566, 0xbe330f61, 0xbe2a700c, 0xbdf3215c, 0xbd2fefbb, 0x3d2fefbb,
        0x3df3215c, 0x3e2a700c, 0x3e330f61, 0x3e116566, 0x3d9aca9e, 0xbc0e1d7b, 0xbdba2005,
        0xbe1b43f5, 0xbe34cd21, 0xbe23a3b9, 0xbdd7aa8b, 0xbcd47d09, 0x3d73ef2f, 0x3e062061,
        0x3e2f982b,
    ],
    [
        0x3e2e764c, 0x3df9a3ed, 0x3d1ea570, 0xbd63213d, 0xbe0911c7, 0xbe325ab4, 0xbe28e3c6,
        0xbddebcd5, 0xbcb14504, 0x3d92b689, 0x3e13ffa8, 0x3e348763, 0x3e21b0dd, 0x3dc1b098,
        0x3b8e2871, 0xbdb272bd, 0xbe1d80a8, 0xbe34f6fe, 0xbe18ef51, 0xbda2c6d5, 0x3c5510d4,
        0x3dd076ff, 0x3e257d59, 0x3e33a872, 0x3e0eb4b9, 0x3d824bc1, 0xbcf7944a, 0xbdec794d,
        0xbe2be20a, 0xbe309ef6, 0xbe031a4c, 0xbd411ee4, 0x3d411ee4, 0x3e031a4c, 0x3e309ef6,
        0x3e2be20a, 0x3dec794d, 0x3cf7944a, 0xbd824bc1, 0xbe0eb4b9, 0xbe33a872, 0xbe257d59,
        0xbdd076ff, 0xbc5510d4, 0x3da2c6d5, 0x3e18ef51, 0x3e34f6fe, 0x3e1d80a8, 0x3db272bd,
        0xbb8e2871, 0xbdc1b098, 0xbe21b0dd, 0xbe348763, 0xbe13ffa8, 0xbd92b689, 0x3cb14504,
        0x3ddebcd5, 0x3e28e3c6, 0x3e325ab4, 0x3e0911c7, 0x3d63213d, 0xbd1ea570, 0xbdf9a3ed,
        0xbe2e764c,
    ],
    [
        0x3e2d3986, 0x3de5acc6, 0x3c8df1a9, 0xbdaaa9f2, 0xbe1fa512, 0xbe3425ce, 0xbe0bee0a,
        0xbd523045, 0x3d523045, 0x3e0bee0a, 0x3e3425ce, 0x3e1fa512, 0x3daaa9f2, 0xbc8df1a9,
        0xbde5acc6, 0xbe2d3986, 0xbe2d3986, 0xbde5acc6, 0xbc8df1a9, 0x3daaa9f2, 0x3e1fa512,
        0x3e3425ce, 0x3e0bee0a, 0x3d523045, 0xbd523045, 0xbe0bee0a, 0xbe3425ce, 0xbe1fa512,
        0xbdaaa9f2, 0x3c8df1a9, 0x3de5acc6, 0x3e2d3986, 0x3e2d3986, 0x3de5acc6, 0x3c8df1a9,
        0xbdaaa9f2, 0xbe1fa512, 0xbe3425ce, 0xbe0bee0a, 0xbd523045, 0x3d523045, 0x3e0bee0a,
        0x3e3425ce, 0x3e1fa512, 0x3daaa9f2, 0xbc8df1a9, 0xbde5acc6, 0xbe2d3986, 0xbe2d3986,
        0xbde5acc6, 0xbc8df1a9, 0x3daaa9f2, 0x3e1fa512, 0x3e3425ce, 0x3e0bee0a, 0x3d523045,
        0xbd523045, 0xbe0bee0a, 0xbe3425ce, 0xbe1fa512, 0xbdaaa9f2, 0x3c8df1a9, 0x3de5acc6,
        0x3e2d3986,
    ],
    [
        0x3e2be20a, 0x3dd076ff, 0xbb8e2871, 0xbddebcd5, 0xbe2e764c, 0xbe28e3c6, 0xbdc1b098,
        0x3c5510d4, 0x3dec794d, 0x3e309ef6, 0x3e257d59, 0x3db272bd, 0xbcb14504, 0xbdf9a3ed,
        0xbe325ab4, 0xbe21b0dd, 0xbda2c6d5, 0x3cf7944a, 0x3e031a4c, 0x3e33a872, 0x3e1d80a8,
        0x3d92b689, 0xbd1ea570, 0xbe0911c7, 0xbe348763, 0xbe18ef51, 0xbd824bc1, 0x3d411ee4,
        0x3e0eb4b9, 0x3e34f6fe, 0x3e13ffa8, 0x3d63213d, 0xbd63213d, 0xbe13ffa8, 0xbe34f6fe,
        0xbe0eb4b9, 0xbd411ee4, 0x3d824bc1, 0x3e18ef51, 0x3e348763, 0x3e0911c7, 0x3d1ea570,
        0xbd92b689, 0xbe1d80a8, 0xbe33a872, 0xbe031a4c, 0xbcf7944a, 0x3da2c6d5, 0x3e21b0dd,
        0x3e325ab4, 0x3df9a3ed, 0x3cb14504, 0xbdb272bd, 0xbe257d59, 0xbe309ef6, 0xbdec794d,
        0xbc5510d4, 0x3dc1b098, 0x3e28e3c6, 0x3e2e764c, 0x3ddebcd5, 0x3b8e2871, 0xbdd076ff,
        0xbe2be20a,
    ],
    [
        0x3e2a700c, 0x3dba2005, 0xbcd47d09, 0xbe062061, 0xbe34cd21, 0xbe116566, 0xbd2fefbb,
        0x3d9aca9e, 0x3e23a3b9, 0x3e2f982b, 0x3dd7aa8b, 0xbc0e1d7b, 0xbdf3215c, 0xbe330f61,
        0xbe1b43f5, 0xbd73ef2f, 0x3d73ef2f, 0x3e1b43f5, 0x3e330f61, 0x3df3215c, 0x3c0e1d7b,
        0xbdd7aa8b, 0xbe2f982b, 0xbe23a3b9, 0xbd9aca9e, 0x3d2fefbb, 0x3e116566, 0x3e34cd21,
        0x3e062061, 0x3cd47d09, 0xbdba2005, 0xbe2a700c, 0xbe2a700c, 0xbdba2005, 0x3cd47d09,
        0x3e062061, 0x3e34cd21, 0x3e116566, 0x3d2fefbb, 0xbd9aca9e, 0xbe23a3b9, 0xbe2f982b,
        0xbdd7aa8b, 0x3c0e1d7b, 0x3df3215c, 0x3e330f61, 0x3e1b43f5, 0x3d73ef2f, 0xbd73ef2f,
        0xbe1b43f5, 0xbe330f61, 0xbdf3215c, 0xbc0e1d7b, 0x3dd7aa8b, 0x3e2f982b, 0x3e23a3b9,
        0x3d9aca9e, 0xbd2fefbb, 0xbe116566, 0xbe34cd21, 0xbe062061, 0xbcd47d09, 0x3dba2005,
        0x3e2a700c,
    ],
    [
        0x3e28e3c6, 0x3da2c6d5, 0xbd411ee4, 0xbe18ef51, 0xbe325ab4, 0xbddebcd5, 0x3c5510d4,
        0x3e031a4c, 0x3e34f6fe, 0x3e0911c7, 0x3cb14504, 0xbdd076ff, 0xbe309ef6, 0xbe1d80a8,
        0xbd63213d, 0x3d92b689, 0x3e257d59, 0x3e2be20a, 0x3db272bd, 0xbd1ea570, 0xbe13ffa8,
        0xbe33a872, 0xbdec794d, 0x3b8e2871, 0x3df9a3ed, 0x3e348763, 0x3e0eb4b9, 0x3cf7944a,
        0xbdc1b098, 0xbe2e764c, 0xbe21b0dd, 0xbd824bc1, 0x3d824bc1, 0x3e21b0dd, 0x3e2e764c,
        0x3dc1b098, 0xbcf7944a, 0xbe0eb4b9, 0xbe348763, 0xbdf9a3ed, 0xbb8e2871, 0x3dec794d,
        0x3e33a872, 0x3e13ffa8, 0x3d1ea570, 0xbdb272bd, 0xbe2be20a, 0xbe257d59, 0xbd92b689,
        0x3d63213d, 0x3e1d80a8, 0x3e309ef6, 0x3dd076ff, 0xbcb14504, 0xbe0911c7, 0xbe34f6fe,
        0xbe031a4c, 0xbc5510d4, 0x3ddebcd5, 0x3e325ab4, 0x3e18ef51, 0x3d411ee4, 0xbda2c6d5,
        0xbe28e3c6,
    ],
    [
        0x3e273d74, 0x3d8a8bd4, 0xbd8a8bd4, 0xbe273d74, 0xbe273d74, 0xbd8a8bd4, 0x3d8a8bd4,
        0x3e273d74, 0x3e273d74, 0x3d8a8bd4, 0xbd8a8bd4, 0xbe273d74, 0xbe273d74, 0xbd8a8bd4,
        0x3d8a8bd4, 0x3e273d74, 0x3e273d74, 0x3d8a8bd4, 0xbd8a8bd4, 0xbe273d74, 0xbe273d74,
        0xbd8a8bd4, 0x3d8a8bd4, 0x3e273d74, 0x3e273d74, 0x3d8a8bd4, 0xbd8a8bd4, 0xbe273d74,
        0xbe273d74, 0xbd8a8bd4, 0x3d8a8bd4, 0x3e273d74, 0x3e273d74, 0x3d8a8bd4, 0xbd8a8bd4,
        0xbe273d74, 0xbe273d74, 0xbd8a8bd4, 0x3d8a8bd4, 0x3e273d74, 0x3e273d74, 0x3d8a8bd4,
        0xbd8a8bd4, 0xbe273d74, 0xbe273d74, 0xbd8a8bd4, 0x3d8a8bd4, 0x3e273d74, 0x3e273d74,
        0x3d8a8bd4, 0xbd8a8bd4, 0xbe273d74, 0xbe273d74, 0xbd8a8bd4, 0x3d8a8bd4, 0x3e273d74,
        0x3e273d74, 0x3d8a8bd4, 0xbd8a8bd4, 0xbe273d74, 0xbe273d74, 0xbd8a8bd4, 0x3d8a8bd4,
        0x3e273d74,
    ],
];

const fn dct_matrix() -> [[f32; 64]; 16] {
    let mut m = [[0.0f32; 64]; 16];
    let mut i = 0;
    while i < 16 {
        let mut j = 0;
        while j < 64 {
            m[i][j] = f32::from_bits(DCT_MATRIX_BITS[i][j]);
            j += 1;
        }
        i += 1;
    }
    m
}

const fn transpose(m: &[[f32; 64]; 16]) -> [[f32; 16]; 64] {
    let mut t = [[0.0f32; 16]; 64];
    let mut i = 0;
    while i < 16 {
        let mut j = 0;
        while j < 64 {
            t[j][i] = m[i][j];
            j += 1;
        }
        i += 1;
    }
    t
}

/// The PDQ DCT matrix `D` exactly as the C++ reference computes it: 16 rows (frequencies
/// 1..=16; the DC row 0 is not used) by 64 columns (samples). PDQF coefficients are
/// `D·A·Dᵀ` for the 64x64 downsampled luma `A`.
pub const DCT_MATRIX: [[f32; 64]; 16] = dct_matrix();
/// `Dᵀ`, so the second product can run over contiguous memory.
const DCT_MATRIX_T: [[f32; 16]; 64] = transpose(&DCT_MATRIX);

/// `B = D·A·Dᵀ` as the C++ `dct64To16`: `T = D·A` then `B = T·Dᵀ`, each entry a float32 sum
/// from 0 over k = 0..63 in order. The loops are nested so the innermost one runs over
/// independent entries (vectorisable); each entry still sees the same additions in the same
/// order.
pub(crate) fn dct64_to_16(a: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let mut t = [[0.0f32; 64]; 16];
    for (t_row, d_row) in t.iter_mut().zip(&DCT_MATRIX) {
        for (&d, a_row) in d_row.iter().zip(a) {
            for (acc, &x) in t_row.iter_mut().zip(a_row) {
                *acc += d * x;
            }
        }
    }
    let mut b = [[0.0f32; 16]; 16];
    for (b_row, t_row) in b.iter_mut().zip(&t) {
        for (&tk, dt_row) in t_row.iter().zip(&DCT_MATRIX_T) {
            for (acc, &d) in b_row.iter_mut().zip(dt_row) {
                *acc += tk * d;
            }
        }
    }
    b
}

/// The C++ `pdqImageDomainQualityMetric`: count gradients between neighbours in whole
/// percent of full scale (float32, truncated toward zero before the absolute value, so steps
/// under 2.55 grey levels count nothing), divide by 90, cap at 100.
pub(crate) fn quality(a: &[[f32; 64]; 64]) -> u8 {
    fn step(u: f32, v: f32) -> i32 {
        // `as i32` truncates toward zero like the C++ float-to-int conversion.
        (((u - v) * 100.0) / 255.0) as i32
    }
    let mut sum: i32 = 0;
    for (upper, lower) in a.iter().zip(&a[1..]) {
        for (&u, &v) in upper.iter().zip(lower) {
            sum += step(u, v).abs();
        }
    }
    for row in a {
        for pair in row.windows(2) {
            sum += step(pair[0], pair[1]).abs();
        }
    }
    // At most 8064 pairs of at most 100 each: no overflow, and the result fits u8 after min.
    (sum / 90).min(100) as u8
}

/// The lower median of the 256 coefficients (the 128th smallest), which is what the C++
/// `torben()` returns for n = 256: Torben's method stops with at most 128 values on either
/// side of its guess and then returns the largest value below it, the guess itself, or the
/// smallest above it, i.e. exactly the 128th order statistic. Selecting it directly gives the
/// same threshold (±0 compare equal, and the values are always finite).
fn lower_median(b: &[[f32; 16]; 16]) -> f32 {
    let mut values: [f32; 256] = [0.0; 256];
    for (chunk, row) in values.chunks_exact_mut(16).zip(b) {
        chunk.copy_from_slice(row);
    }
    let (_, median, _) = values.select_nth_unstable_by(127, f32::total_cmp);
    *median
}

/// Bits of the C++ `pdqBuffer16x16ToBits`: bit k = 16*i + j is set when `b[i][j]` is strictly
/// greater than the lower median. Packed as the hex-decoded C++ `format()` string: byte
/// `31 - k/8`, bit `k % 8`.
pub(crate) fn to_bits(b: &[[f32; 16]; 16]) -> [u8; 32] {
    let median = lower_median(b);
    let mut bytes = [0u8; 32];
    for (i, row) in b.iter().enumerate() {
        for (j, &x) in row.iter().enumerate() {
            if x > median {
                let k = 16 * i + j;
                bytes[31 - k / 8] |= 1 << (k % 8);
            }
        }
    }
    bytes
}

/// The 8 dihedral variants of a 16x16 DCT block, in the order orig, rot90, rot180, rot270,
/// flipx, flipy, flipplus1, flipminus1 (the C++ `dct16OriginalTo*` functions). A flip negates
/// the odd frequencies (even indices, since index i is frequency i+1); a transpose swaps indices.
pub(crate) fn dihedral_blocks(a: &[[f32; 16]; 16]) -> [[[f32; 16]; 16]; 8] {
    let mut out = [[[0.0f32; 16]; 16]; 8];
    for i in 0..16 {
        for j in 0..16 {
            let x = a[i][j];
            let odd_i = i & 1 == 1;
            let odd_j = j & 1 == 1;
            let odd_sum = (i + j) & 1 == 1;
            out[0][i][j] = x;
            out[1][j][i] = if odd_j { x } else { -x };
            out[2][i][j] = if odd_sum { -x } else { x };
            out[3][j][i] = if odd_i { x } else { -x };
            out[4][i][j] = if odd_i { x } else { -x };
            out[5][i][j] = if odd_j { x } else { -x };
            out[6][j][i] = x;
            out[7][j][i] = if odd_sum { -x } else { x };
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)] // indices are the matrix coordinates being checked
mod tests {
    use super::*;

    /// The formula the table came from, with the C++ float/double roundings: the scale is
    /// rounded to float, then multiplied in double by a double cosine whose argument is
    /// evaluated left to right, and the product is rounded to float.
    #[test]
    fn table_matches_cpp_formula() {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        let mut mismatches = 0;
        for i in 0..16 {
            for j in 0..64 {
                let arg = (std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64;
                let value = (f64::from(scale) * arg.cos()) as f32;
                if value.to_bits() != DCT_MATRIX_BITS[i][j] {
                    mismatches += 1;
                }
            }
        }
        // The table is authoritative; a libm whose cos is off by an ulp may disagree here,
        // which is exactly why the bits are stored rather than computed.
        assert_eq!(mismatches, 0, "this platform's cos disagrees with the stored C++ table");
    }

    #[test]
    fn median_is_128th_smallest() {
        let mut b = [[0.0f32; 16]; 16];
        for (k, x) in b.iter_mut().flatten().enumerate() {
            *x = ((k * 97) % 256) as f32; // a permutation of 0..=255
        }
        assert_eq!(lower_median(&b), 127.0);
        let bits = to_bits(&b);
        let set: u32 = bits.iter().map(|x| x.count_ones()).sum();
        assert_eq!(set, 128);
    }

    #[test]
    fn quality_of_flat_and_checkerboard() {
        let flat = [[42.0f32; 64]; 64];
        assert_eq!(quality(&flat), 0);
        let mut checker = [[0.0f32; 64]; 64];
        for (i, row) in checker.iter_mut().enumerate() {
            for (j, x) in row.iter_mut().enumerate() {
                *x = if (i + j) % 2 == 0 { 255.0 } else { 0.0 };
            }
        }
        assert_eq!(quality(&checker), 100);
        // A ramp of 2.5 grey levels per step truncates to 0 percent everywhere.
        let mut ramp = [[0.0f32; 64]; 64];
        for row in ramp.iter_mut() {
            for (j, x) in row.iter_mut().enumerate() {
                *x = j as f32 * 2.5;
            }
        }
        assert_eq!(quality(&ramp), 0);
    }

    #[test]
    fn rotate_four_times_is_identity_and_flip_twice_too() {
        let mut a = [[0.0f32; 16]; 16];
        for (k, x) in a.iter_mut().flatten().enumerate() {
            *x = k as f32 - 100.5;
        }
        let r1 = dihedral_blocks(&a)[1];
        let r2 = dihedral_blocks(&r1)[1];
        let r3 = dihedral_blocks(&r2)[1];
        let r4 = dihedral_blocks(&r3)[1];
        assert_eq!(r2, dihedral_blocks(&a)[2]);
        assert_eq!(r3, dihedral_blocks(&a)[3]);
        assert_eq!(r4, a);
        for v in 4..8 {
            let once = dihedral_blocks(&a)[v];
            assert_eq!(dihedral_blocks(&once)[v], a, "variant {v} is an involution");
        }
    }
}
