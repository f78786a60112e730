/* seed.c — the sample conversation and the deterministic synthetic data set. */
#include "config.h"
#include "messaging/seed.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

/* The users of sql/seed.sql. `cruddur ddb seed` asks Postgres (users_by_handle) and falls
 * back to these when no database is configured or it does not know them. */
const messaging_user seed_sample_mira = {
    .uuid = "6f1c2c1e-3d4b-4a8e-9c61-2b7f0d5a9e11",
    .display_name = "Mira Okafor",
    .handle = "mira",
};
const messaging_user seed_sample_tomasz = {
    .uuid = "0b8e5c7a-91d2-4f37-8a44-c3e6d1f2a7b9",
    .display_name = "Tomasz Wierzba",
    .handle = "tomasz",
};

/* Who says what: even lines are the first user's, odd lines the second's. */
static const char *const seed_lines[SEED_SAMPLE_MESSAGES] = {
    "Morning! Did you make it home before the rain last night?",
    "Just barely. The bus driver waited for me, which felt like a small miracle.",
    "Nice. I got soaked walking from the station, my umbrella gave up halfway.",
    "Time for a new umbrella then. Or a raincoat with a proper hood.",
    "Raincoat, definitely. Are you still up for the hike on Saturday?",
    "Yes! I was about to ask you the same thing. Which trail were you thinking of?",
    "The ridge loop above the lake. About 14 km, mostly gentle, one steep bit.",
    "The one with the old fire lookout at the top?",
    "That's the one. The view from the lookout is worth every step of the steep bit.",
    "Sounds perfect. What time should we leave?",
    "If we take the 7:40 train we'd be on the trail by nine.",
    "7:40 on a Saturday... fine, for the lookout I'll do it.",
    "I'll bring coffee in the big thermos, that should help.",
    "You're a hero. I can bring lunch: I've been practising sourdough all week.",
    "Wait, since when do you bake bread?",
    "Since my neighbour gave me a jar of starter. Its name is Gustav, apparently.",
    "Of course the starter has a name. How is Gustav doing?",
    "Thriving. He nearly escaped the jar on Tuesday.",
    "Ha! Bring Gustav's finest loaf then. I'll bring cheese and some apples.",
    "Deal. Do we need anything else? Maps, snacks, a first aid kit?",
    "I've got the first aid kit. Could you download the offline map just in case?",
    "Already on my phone. I checked the forecast too: dry and 16 degrees.",
    "Finally some luck with the weather.",
    "Should we ask Ada and Ben as well? They were talking about a hike last month.",
    "Good idea, I'll message them tonight. Ben might bring his dog.",
    "The dog is welcome. The dog is always welcome.",
    "Ada says yes! Ben has a family lunch but sends his regrets.",
    "Three of us then. I'll make a slightly bigger loaf.",
    "Gustav will be proud.",
    "By the way, did you finish that book about the lighthouse keepers?",
    "Last night! The ending surprised me. You can borrow it on Saturday.",
    "Yes please, I need something for the train ride home.",
    "I'll put it in my backpack right now so I don't forget.",
    "Quick question: boots or trail runners? My boots still pinch a bit.",
    "Trail runners are fine for that route, unless it rains again.",
    "Trail runners it is. Meet at the station café at 7:25?",
    "7:25 works. I'll be the one with the giant thermos.",
    "And I'll be the one carrying a loaf like a baby.",
    "Perfect. See you Saturday, and say hi to Gustav for me.",
    "Will do. Good night, Mira!",
};

/* ---- deterministic numbers ------------------------------------------------------------------ */

static uint64_t seed_mix(uint64_t x)
{
    /* splitmix64's finaliser */
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

enum seed_tag {
    TAG_USER = 1,
    TAG_PAIR,
    TAG_PAIR2,
    TAG_GROUP,
    TAG_GROUPID,
    TAG_SENDER,
    TAG_MSGID,
    TAG_TEXT,
    TAG_SAMPLE
};

static uint64_t seed_hash(uint64_t seed, enum seed_tag tag, uint64_t i)
{
    return seed_mix(seed_mix(seed ^ ((uint64_t)tag << 56)) ^ i);
}

/* A version-4-shaped UUID from two 64-bit values. */
static void seed_uuid(char out[UUID_BUF], uint64_t hi, uint64_t lo)
{
    hi = (hi & ~0xf000ULL) | 0x4000ULL;                        /* version 4 */
    lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; /* RFC 4122 variant */
    snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32),
             (unsigned)((hi >> 16) & 0xffff), (unsigned)(hi & 0xffff), (unsigned)(lo >> 48),
             (unsigned long long)(lo & 0xffffffffffffULL));
}

/* ---- the sample conversation ---------------------------------------------------------------- */

json_t *seed_sample_items(const messaging_user *a, const messaging_user *b, int64_t end_us)
{
    if (!a || !b)
        return NULL;
    json_t *items = json_array();
    if (!items)
        return NULL;
    uint64_t gh = 1469598103934665603ULL; /* FNV-1a of the group id */
    for (const char *p = SEED_SAMPLE_GROUP_UUID; *p; p++)
        gh = (gh ^ (unsigned char)*p) * 1099511628211ULL;

    const int64_t step_us = (int64_t)35 * 60 * 1000000;
    char ts[MESSAGING_TS_LEN];
    for (int i = 0; i < SEED_SAMPLE_MESSAGES; i++) {
        int last = SEED_SAMPLE_MESSAGES - 1;
        /* a few minutes earlier than the 35-minute grid, never enough to reorder */
        int64_t jitter_us =
            i == last ? 0
                      : (int64_t)(seed_hash(gh, TAG_SAMPLE, (uint64_t)i) % (5ULL * 60 * 1000000));
        int64_t t = end_us - (int64_t)(last - i) * step_us - jitter_us;
        char id[UUID_BUF];
        seed_uuid(id, seed_hash(gh, TAG_MSGID, (uint64_t)i),
                  seed_hash(gh, TAG_MSGID, (uint64_t)i + 1000));
        if (clock_iso8601_us(ts, sizeof ts, t) != 0 ||
            json_array_append_new(items,
                                  messaging_message_item(SEED_SAMPLE_GROUP_UUID, ts, id,
                                                         i % 2 == 0 ? a : b, seed_lines[i])) != 0)
            goto fail;
    }
    /* ts holds the last message's time */
    const char *last_text = seed_lines[SEED_SAMPLE_MESSAGES - 1];
    if (json_array_append_new(
            items, messaging_group_item(a->uuid, ts, SEED_SAMPLE_GROUP_UUID, b, last_text)) != 0 ||
        json_array_append_new(
            items, messaging_group_item(b->uuid, ts, SEED_SAMPLE_GROUP_UUID, a, last_text)) != 0)
        goto fail;
    return items;
fail:
    json_decref(items);
    return NULL;
}

/* ---- the synthetic data set ----------------------------------------------------------------- */

struct seed_bulk {
    seed_bulk_options o;
    int64_t step_us;
    long *last; /* per group: index of its last message */
};

seed_bulk *seed_bulk_new(const seed_bulk_options *o, errinfo *e)
{
    if (!o) {
        errinfo_set(e, ERR_INVALID, "no options");
        return NULL;
    }
    if (o->users < 2 || o->users > SEED_BULK_USERS_MAX) {
        errinfo_set(e, ERR_INVALID, "--users must be between 2 and %ld", SEED_BULK_USERS_MAX);
        return NULL;
    }
    if (o->groups < 1 || o->groups > SEED_BULK_GROUPS_MAX) {
        errinfo_set(e, ERR_INVALID, "--groups must be between 1 and %ld", SEED_BULK_GROUPS_MAX);
        return NULL;
    }
    if (o->messages < o->groups || o->messages > SEED_BULK_MESSAGES_MAX) {
        errinfo_set(e, ERR_INVALID,
                    "--messages must be between --groups (%ld: every group needs a message) "
                    "and %ld",
                    o->groups, SEED_BULK_MESSAGES_MAX);
        return NULL;
    }
    seed_bulk *b = calloc(1, sizeof *b);
    if (!b) {
        errinfo_nomem(e);
        return NULL;
    }
    b->o = *o;
    if (b->o.span_us <= 0)
        b->o.span_us = SEED_BULK_SPAN_DEFAULT_US;
    if (b->o.span_us < b->o.messages)
        b->o.span_us = b->o.messages; /* at least 1 µs apart: keys stay unique */
    b->step_us = b->o.span_us / b->o.messages;
    b->last = calloc((size_t)o->groups, sizeof *b->last);
    if (!b->last) {
        seed_bulk_free(b);
        errinfo_nomem(e);
        return NULL;
    }
    for (long i = 0; i < o->messages; i++) {
        long g = i < o->groups
                     ? i
                     : (long)(seed_hash(o->seed, TAG_GROUP, (uint64_t)i) % (uint64_t)o->groups);
        b->last[g] = i;
    }
    return b;
}

void seed_bulk_free(seed_bulk *b)
{
    if (!b)
        return;
    free(b->last);
    free(b);
}

size_t seed_bulk_count(const seed_bulk *b)
{
    return b ? (size_t)b->o.messages + 2 * (size_t)b->o.groups : 0;
}

int seed_bulk_user(const seed_bulk *b, long k, seed_person *out)
{
    if (!b || k < 0 || k >= b->o.users)
        return -1;
    seed_uuid(out->uuid, seed_hash(b->o.seed, TAG_USER, (uint64_t)k),
              seed_hash(b->o.seed, TAG_USER, (uint64_t)k + ((uint64_t)1 << 40)));
    snprintf(out->handle, sizeof out->handle, "u%ld", k + 1);
    snprintf(out->display_name, sizeof out->display_name, "User %ld", k + 1);
    return 0;
}

static long seed_group_of(const seed_bulk *b, long i)
{
    if (i < b->o.groups)
        return i;
    return (long)(seed_hash(b->o.seed, TAG_GROUP, (uint64_t)i) % (uint64_t)b->o.groups);
}

/* The two members of group g and its id. */
static void seed_group(const seed_bulk *b, long g, seed_person *x, seed_person *y,
                       char id[UUID_BUF])
{
    uint64_t u = (uint64_t)b->o.users;
    long ka = (long)(seed_hash(b->o.seed, TAG_PAIR, (uint64_t)g) % u);
    long kb =
        (long)(((uint64_t)ka + 1 + seed_hash(b->o.seed, TAG_PAIR2, (uint64_t)g) % (u - 1)) % u);
    seed_bulk_user(b, ka, x);
    seed_bulk_user(b, kb, y);
    seed_uuid(id, seed_hash(b->o.seed, TAG_GROUPID, (uint64_t)g),
              seed_hash(b->o.seed, TAG_GROUPID, (uint64_t)g + ((uint64_t)1 << 40)));
}

static const char *const seed_words[] = {
    "coffee",  "tomorrow", "train",    "maybe",   "sounds", "good",    "the",     "meeting",
    "later",   "lunch",    "weekend",  "rain",    "bike",   "garden",  "book",    "music",
    "walk",    "dinner",   "call",     "sure",    "thanks", "great",   "idea",    "park",
    "morning", "evening",  "ticket",   "plan",    "soon",   "today",   "again",   "project",
    "photo",   "kitchen",  "market",   "bread",   "tea",    "river",   "concert", "movie",
    "cat",     "dog",      "office",   "holiday", "map",    "station", "friday",  "sunday",
    "forgot",  "found",    "bring",    "meet",    "see",    "you",     "there",   "at",
    "noon",    "quick",    "question", "about",   "new",    "old",     "little",  "big",
};

static void seed_text(const seed_bulk *b, long i, char *out, size_t outlen)
{
    const size_t nw = sizeof seed_words / sizeof seed_words[0];
    uint64_t r = seed_hash(b->o.seed, TAG_TEXT, (uint64_t)i);
    int words = 3 + (int)(r % 10);
    size_t len = 0;
    out[0] = '\0';
    for (int w = 0; w < words; w++) {
        r = seed_mix(r);
        const char *word = seed_words[r % nw];
        int n = snprintf(out + len, outlen - len, "%s%s", w ? " " : "", word);
        if (n < 0 || (size_t)n >= outlen - len)
            break;
        len += (size_t)n;
    }
    if (len > 0 && out[0] >= 'a' && out[0] <= 'z')
        out[0] = (char)(out[0] - 'a' + 'A');
    static const char ends[] = ".!?.";
    if (len + 1 < outlen) {
        out[len] = ends[(r >> 8) % 4];
        out[len + 1] = '\0';
    }
}

/* Message i: its group, sender, time, id, text. */
static json_t *seed_bulk_message(const seed_bulk *b, long i, char ts_out[MESSAGING_TS_LEN],
                                 char *text, size_t textlen, bool with_item)
{
    long g = seed_group_of(b, i);
    seed_person x, y;
    char gid[UUID_BUF], mid[UUID_BUF];
    seed_group(b, g, &x, &y, gid);
    int64_t t = b->o.end_us - (int64_t)(b->o.messages - 1 - i) * b->step_us;
    if (clock_iso8601_us(ts_out, MESSAGING_TS_LEN, t) != 0)
        return NULL;
    seed_text(b, i, text, textlen);
    if (!with_item)
        return NULL;
    seed_person *from = (seed_hash(b->o.seed, TAG_SENDER, (uint64_t)i) & 1) ? &y : &x;
    messaging_user sender = { from->uuid, from->display_name, from->handle };
    seed_uuid(mid, seed_hash(b->o.seed, TAG_MSGID, (uint64_t)i),
              seed_hash(b->o.seed, TAG_MSGID, (uint64_t)i + ((uint64_t)1 << 40)));
    return messaging_message_item(gid, ts_out, mid, &sender, text);
}

json_t *seed_bulk_item(const seed_bulk *b, size_t i)
{
    if (!b || i >= seed_bulk_count(b))
        return NULL;
    char ts[MESSAGING_TS_LEN];
    char text[160];
    if (i < (size_t)b->o.messages)
        return seed_bulk_message(b, (long)i, ts, text, sizeof text, true);
    size_t j = i - (size_t)b->o.messages;
    long g = (long)(j / 2);
    seed_person x, y;
    char gid[UUID_BUF];
    seed_group(b, g, &x, &y, gid);
    seed_bulk_message(b, b->last[g], ts, text, sizeof text, false);
    const seed_person *me = j % 2 == 0 ? &x : &y;
    const seed_person *other = j % 2 == 0 ? &y : &x;
    messaging_user o = { other->uuid, other->display_name, other->handle };
    return messaging_group_item(me->uuid, ts, gid, &o, text);
}
