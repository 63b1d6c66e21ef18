#include "cache/sha256.h"

#include <openssl/evp.h>

#include <memory>

namespace tollgate::cache {

namespace {

// OpenSSL 3 looks an algorithm up through its providers on every EVP_sha256() digest: fetched
// once here, and one context per thread reused, a key costs only the hashing.
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

} // namespace

QByteArray sha256(QByteArrayView data)
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
