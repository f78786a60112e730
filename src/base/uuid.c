/* uuid.c — see uuid.h. */
#include "config.h"
#include "base/uuid.h"

bool uuid_is_text(const char *s, size_t len)
{
    if (!s || len != UUID_TEXT_LEN)
        return false;
    for (size_t i = 0; i < UUID_TEXT_LEN; i++) {
        char c = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (dash ? c != '-' : !hex)
            return false;
    }
    return true;
}

bool uuid_to_lower(const char *s, size_t len, char out[UUID_BUF])
{
    out[0] = '\0';
    if (!uuid_is_text(s, len))
        return false;
    for (size_t i = 0; i < UUID_TEXT_LEN; i++)
        out[i] = s[i] >= 'A' && s[i] <= 'F' ? (char)(s[i] - 'A' + 'a') : s[i];
    out[UUID_TEXT_LEN] = '\0';
    return true;
}
