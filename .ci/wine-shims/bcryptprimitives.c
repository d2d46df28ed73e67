/* Wine 8.0 has no bcryptprimitives.dll; Rust programs since 1.78 (the `tokenizers` wheel that faster-whisper
 * imports) load it for ProcessPrng. This stand-in, built with mingw-w64 for the Wine lane only, forwards to
 * BCryptGenRandom, which Wine implements. Never shipped, never used on real Windows. */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
