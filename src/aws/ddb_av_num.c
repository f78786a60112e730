/* ddb_av_num.c — DynamoDB number texts: parsing under DynamoDB's limits, the canonical text
 * (equal values, equal texts), and conversion to int64 and double. */
#include "config.h"
#include "aws/ddb_av_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM_MAX_ADJ 125    /* largest magnitude 9.99...E+125 */
#define NUM_MIN_ADJ (-130) /* smallest magnitude 1E-130 */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int ddb_av_num_parse(const char *s, size_t len, ddb_av_num *out, const char **why)
{
    const long long exp_cap = 1000000000000LL; /* saturate: far beyond any valid range */
    size_t i = 0;
    long long pos = 0;     /* index of the current mantissa digit */
    long long int_len = 0; /* mantissa digits before the point */
    long long first = -1;  /* index of the first non-zero digit */
    long long pending_zeros = 0;
    long long exp = 0;
    bool seen_point = false;

    memset(out, 0, sizeof *out);
    *why = "is not a number";
    if (i < len && (s[i] == '+' || s[i] == '-'))
        out->neg = s[i++] == '-';
    for (; i < len; i++) {
        char c = s[i];
        if (c == '.' && !seen_point) {
            seen_point = true;
            continue;
        }
        if (!is_digit(c))
            break;
        if (!seen_point)
            int_len++;
        if (c == '0') {
            if (first >= 0)
                pending_zeros++;
        } else {
            if (first < 0)
                first = pos;
            if (out->ndigits + pending_zeros + 1 > DDB_AV_NUM_MAX_DIGITS) {
                *why = "has more than 38 significant digits";
                return -1;
            }
            for (; pending_zeros > 0; pending_zeros--)
                out->digits[out->ndigits++] = '0';
            out->digits[out->ndigits++] = c;
        }
        pos++;
    }
    if (pos == 0)
        return -1;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        bool eneg = false;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i >= len || !is_digit(s[i]))
            return -1;
        for (; i < len && is_digit(s[i]); i++) {
            if (exp < exp_cap)
                exp = exp * 10 + (s[i] - '0');
        }
        if (eneg)
            exp = -exp;
    }
    if (i != len)
        return -1;
    out->digits[out->ndigits] = '\0';
    if (first < 0) { /* zero, whatever its sign and exponent */
        out->neg = false;
        out->adj = 0;
        return 0;
    }
    out->adj = int_len - 1 - first + exp;
    if (out->adj > NUM_MAX_ADJ || out->adj < NUM_MIN_ADJ) {
        *why = "is out of range (1E-130 to 9.9999999999999999999999999999999999999E+125)";
        return -1;
    }
    return 0;
}

bool ddb_av_num_valid(const char *s, size_t len)
{
    ddb_av_num num;
    const char *why;
    return ddb_av_num_parse(s, len, &num, &why) == 0;
}

/* The canonical text of a number: equal values give equal text. */
void ddb_av_num_normal(const ddb_av_num *num, char out[DDB_AV_NUM_NORM_MAX])
{
    if (num->ndigits == 0)
        snprintf(out, DDB_AV_NUM_NORM_MAX, "0");
    else
        snprintf(out, DDB_AV_NUM_NORM_MAX, "%s%se%lld", num->neg ? "-" : "", num->digits, num->adj);
}

/* The number as int64 when it is an integer in range; 0 or -1. */
int ddb_av_num_to_i64(const ddb_av_num *num, int64_t *out)
{
    if (num->ndigits == 0) {
        *out = 0;
        return 0;
    }
    if (num->adj < num->ndigits - 1 || num->adj > 18)
        return -1;
    uint64_t u = 0;
    for (int i = 0; i < num->ndigits; i++)
        u = u * 10 + (uint64_t)(num->digits[i] - '0'); /* at most 19 digits: no ddb_av_wrap */
    for (long long k = num->adj - (num->ndigits - 1); k > 0; k--) {
        if (u > UINT64_MAX / 10)
            return -1;
        u *= 10;
    }
    if (num->neg) {
        if (u > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
    } else {
        if (u > (uint64_t)INT64_MAX)
            return -1;
        *out = (int64_t)u;
    }
    return 0;
}

/* The nearest double; the text handed to strtod has no decimal point, so the locale does
 * not matter. Always finite for a valid DynamoDB number. */
double ddb_av_num_to_double(const ddb_av_num *num)
{
    char t[DDB_AV_NUM_NORM_MAX + 8];
    if (num->ndigits == 0)
        return 0.0;
    snprintf(t, sizeof t, "%s%se%lld", num->neg ? "-" : "", num->digits,
             num->adj - (num->ndigits - 1));
    return strtod(t, NULL);
}

/* printf's %g output made locale-proof: a decimal comma becomes a point. */
void ddb_av_fix_radix(char *s)
{
    for (; *s; s++) {
        if (*s == ',')
            *s = '.';
    }
}
