/* base64.c — strict RFC 4648 base64, standard (padded) and url-safe (unpadded). */
#include "config.h"
#include "base/base64.h"

#include <stdint.h>
#include <string.h>

static const char base64_alphabet[2][65] = {
    [BASE64_STD] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    [BASE64_URL] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
};

static inline base64_kind base64_kind_of(base64_kind k)
{
    return k == BASE64_URL ? BASE64_URL : BASE64_STD;
}

/* The 6-bit value of c in alphabet a, -1 outside it: the two alphabets differ only in their
 * last two characters. */
static inline int base64_value_in(const char *a, unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (unsigned char)a[62])
        return 62;
    if (c == (unsigned char)a[63])
        return 63;
    return -1;
}

int base64_value(base64_kind k, unsigned char c)
{
    return base64_value_in(base64_alphabet[base64_kind_of(k)], c);
}

size_t base64_encoded_len(base64_kind k, size_t n)
{
    if (n / 3 > (SIZE_MAX - 4) / 4)
        return SIZE_MAX;
    if (base64_kind_of(k) == BASE64_STD)
        return (n / 3 + (n % 3 ? 1 : 0)) * 4;
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

int base64_encode(base64_kind k, const void *p, size_t n, buf *out)
{
    k = base64_kind_of(k);
    const unsigned char *s = p;
    const char *a = base64_alphabet[k];
    size_t need = base64_encoded_len(k, n);
    if (need == SIZE_MAX || buf_reserve(out, need) != 0)
        return -1;
    char *d = out->data + out->len;
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        d[o++] = a[v >> 18];
        d[o++] = a[(v >> 12) & 63];
        d[o++] = a[(v >> 6) & 63];
        d[o++] = a[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        d[o++] = a[v >> 18];
        d[o++] = a[(v >> 12) & 63];
        if (k == BASE64_STD) {
            d[o++] = '=';
            d[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        d[o++] = a[v >> 18];
        d[o++] = a[(v >> 12) & 63];
        d[o++] = a[(v >> 6) & 63];
        if (k == BASE64_STD)
            d[o++] = '=';
    }
    out->len += o;
    out->data[out->len] = '\0';
    return 0;
}

int base64_decode_raw(base64_kind k, const char *s, size_t len, unsigned char *out, size_t *outlen)
{
    k = base64_kind_of(k);
    size_t n = len; /* the characters that carry bits */
    if (k == BASE64_STD) {
        if (len % 4 != 0)
            return -1;
        if (len > 0 && s[len - 1] == '=')
            n -= s[len - 2] == '=' ? 2 : 1;
    }
    if (n % 4 == 1)
        return -1;
    const char *a = base64_alphabet[k];
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = base64_value_in(a, (unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (out)
                out[o] = (unsigned char)(acc >> bits);
            o++;
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* leftover bits must be zero: one encoding per value */
        return -1;
    *outlen = o;
    return 0;
}

int base64_decode(base64_kind k, strv in, buf *out, errinfo *e)
{
    k = base64_kind_of(k);
    const char *bad =
        k == BASE64_URL ? "not canonical unpadded base64url" : "not canonical padded base64";
    size_t need;
    if (base64_decode_raw(k, in.ptr, in.len, NULL, &need) != 0)
        return errinfo_set(e, ERR_INVALID, "%s", bad);
    if (buf_reserve(out, need) != 0)
        return errinfo_set(e, ERR_TOOBIG, "%s: output over the buffer's cap",
                           k == BASE64_URL ? "base64url" : "base64");
    size_t n = 0;
    base64_decode_raw(k, in.ptr, in.len, (unsigned char *)out->data + out->len, &n);
    out->len += n;
    out->data[out->len] = '\0';
    return 0;
}
