/* A stand-in for Windows' bcryptprimitives.dll, for running the Windows build under Wine 8
 * (Debian 12), which lacks it: Rust's standard library takes its random seed from
 * ProcessPrng there. Built with mingw-w64 by .ci/windows and put beside each .exe; never
 * shipped. RtlGenRandom (advapi32's SystemFunction036) gives the bytes. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
