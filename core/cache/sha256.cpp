#include "cache/sha256.h"

#include <openssl/evp.h>

#include <cstdint>
#include <cstring>
#include <memory>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define TOLLGATE_SHA_NI 1
#endif

namespace tollgate::cache {

namespace {

// OpenSSL 3 looks an algorithm up through its providers on every EVP_sha256() digest: fetched
// once here, and one context per thread reused.
const EVP_MD *sha256Algorithm()
{
    static const std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> algorithm(
        EVP_MD_fetch(nullptr, "SHA256", nullptr), &EVP_MD_free);
    return algorithm.get();
}

EVP_MD_CTX *threadContext()
{
    thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(
        EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    return context.get();
}

#ifdef TOLLGATE_SHA_NI

alignas(16) constexpr std::uint32_t kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr std::uint32_t kInitialState[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                            0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

bool cpuHasShaInstructions()
{
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
        return false;
    const bool ssse3 = ecx & (1u << 9);
    const bool sse41 = ecx & (1u << 19);
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
        return false;
    const bool sha = ebx & (1u << 29);
    return ssse3 && sse41 && sha;
}

// The rounds of `blocks` 64-byte blocks with the SHA extensions. The state lives in the two
// registers the instructions want (ABEF and CDGH); each pass of the loop is four rounds and
// extends the message schedule by four words.
__attribute__((target("sha,ssse3,sse4.1"))) void
compressBlocks(std::uint32_t state[8], const unsigned char *data, std::size_t blocks)
{
    const __m128i byteSwap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i swapped = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<__m128i *>(&state[0])),
                                        0xB1); // CDAB
    __m128i cdgh = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<__m128i *>(&state[4])),
                                     0x1B); // HGFE
    __m128i abef = _mm_alignr_epi8(swapped, cdgh, 8);
    cdgh = _mm_blend_epi16(cdgh, swapped, 0xF0);
    for (; blocks > 0; --blocks, data += 64) {
        const __m128i abefBefore = abef;
        const __m128i cdghBefore = cdgh;
        __m128i words[4];
        for (int i = 0; i < 4; ++i)
            words[i] = _mm_shuffle_epi8(
                _mm_loadu_si128(reinterpret_cast<const __m128i *>(data + 16 * i)), byteSwap);
#pragma GCC unroll 16
        for (int quad = 0; quad < 16; ++quad) {
            __m128i &w = words[quad & 3];
            if (quad >= 4) {
                __m128i next = _mm_sha256msg1_epu32(w, words[(quad + 1) & 3]);
                next = _mm_add_epi32(
                    next, _mm_alignr_epi8(words[(quad + 3) & 3], words[(quad + 2) & 3], 4));
                w = _mm_sha256msg2_epu32(next, words[(quad + 3) & 3]);
            }
            __m128i message = _mm_add_epi32(
                w, _mm_load_si128(reinterpret_cast<const __m128i *>(&kRoundConstants[4 * quad])));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, message);
            message = _mm_shuffle_epi32(message, 0x0E);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, message);
        }
        abef = _mm_add_epi32(abef, abefBefore);
        cdgh = _mm_add_epi32(cdgh, cdghBefore);
    }
    swapped = _mm_shuffle_epi32(abef, 0x1B); // FEBA
    cdgh = _mm_shuffle_epi32(cdgh, 0xB1);    // DCHG
    _mm_storeu_si128(reinterpret_cast<__m128i *>(&state[0]), _mm_blend_epi16(swapped, cdgh, 0xF0));
    _mm_storeu_si128(reinterpret_cast<__m128i *>(&state[4]), _mm_alignr_epi8(cdgh, swapped, 8));
}

QByteArray sha256WithCpuInstructions(QByteArrayView data)
{
    std::uint32_t state[8];
    std::memcpy(state, kInitialState, sizeof state);
    const auto *bytes = reinterpret_cast<const unsigned char *>(data.data());
    const std::size_t size = std::size_t(data.size());
    const std::size_t whole = size / 64;
    compressBlocks(state, bytes, whole);
    // The tail, the 0x80 marker and the length in bits fill one or two last blocks.
    unsigned char tail[128] = {};
    const std::size_t rest = size - whole * 64;
    if (rest > 0)
        std::memcpy(tail, bytes + whole * 64, rest);
    tail[rest] = 0x80;
    const std::size_t tailSize = rest + 9 <= 64 ? 64 : 128;
    const std::uint64_t bits = std::uint64_t(size) * 8;
    for (int i = 0; i < 8; ++i)
        tail[tailSize - 1 - std::size_t(i)] = static_cast<unsigned char>(bits >> (8 * i));
    compressBlocks(state, tail, tailSize / 64);
    QByteArray digest(32, Qt::Uninitialized);
    for (int i = 0; i < 8; ++i) {
        digest[4 * i] = char(state[i] >> 24);
        digest[4 * i + 1] = char(state[i] >> 16);
        digest[4 * i + 2] = char(state[i] >> 8);
        digest[4 * i + 3] = char(state[i]);
    }
    return digest;
}

#endif

} // namespace

bool sha256UsesCpuInstructions()
{
#ifdef TOLLGATE_SHA_NI
    static const bool available = cpuHasShaInstructions();
    return available;
#else
    return false;
#endif
}

QByteArray sha256(QByteArrayView data)
{
#ifdef TOLLGATE_SHA_NI
    // OpenSSL would use the same instructions, but its way there (providers, contexts, dispatch)
    // costs 10-20 µs on a core that was idle a few milliseconds: most of a small request's key.
    if (sha256UsesCpuInstructions())
        return sha256WithCpuInstructions(data);
#endif
    return sha256WithOpenSsl(data);
}

QByteArray sha256WithOpenSsl(QByteArrayView data)
{
    QByteArray digest(32, Qt::Uninitialized);
    unsigned int length = 0;
    const EVP_MD *algorithm = sha256Algorithm();
    EVP_MD_CTX *context = threadContext();
    if (algorithm && context && EVP_DigestInit_ex2(context, algorithm, nullptr) == 1 &&
        EVP_DigestUpdate(context, data.data(), size_t(data.size())) == 1 &&
        EVP_DigestFinal_ex(context, reinterpret_cast<unsigned char *>(digest.data()), &length) == 1)
        return digest;
    // Not expected; the one-shot call is the slow but always available way.
    EVP_Digest(data.data(), size_t(data.size()), reinterpret_cast<unsigned char *>(digest.data()),
               &length, EVP_sha256(), nullptr);
    return digest;
}

} // namespace tollgate::cache
