/*
 * The provider engine through the C ABI: two engines (Example PEC and Other PEC, each on its
 * own SQLite file, each on a manual clock) and a wire between them that routes every message
 * as an MTA would. Every built message that crosses the wire is parsed and verified through
 * the C API (pec_message_parse, pec_verifier_verify at the engines' time).
 *
 *   test_engine FIXTURES STATE_DIR
 *
 * FIXTURES is written by `cargo run -p pec-testkit --example engine-fixtures -- DIR`
 * (a-engine.toml, b-engine.toml, root.pem, index.ldif, ...); STATE_DIR is an empty directory
 * for the SQLite files. Needs libpec built with the cargo feature test-clock.
 *
 * Cases: the happy path (RFC 6109 §3.5), the 12 h notice only (late delivery), the 24 h
 * notice only (take-charge, no delivery), both notices (nothing at all), and a repeated
 * submission after a missing ack returning the same bytes.
 */
#define PEC_TEST_CLOCK 1
#include "common.h"

#include <stdarg.h>
#include <stdint.h>
#include <time.h>

#define MARIO "mario.rossi@pec.example.it"
#define LUIGI "luigi.verdi@pec.other.it"
#define ALPHA_BOX "ricevute@pec.example.it"
#define HOUR 3600

static int failures = 0;

#define CHECK(cond, ...)                                                                    \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                 \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fprintf(stderr, " (last error: %s)\n", last_error());                          \
            failures++;                                                                     \
        }                                                                                   \
    } while (0)

#define OK(call) CHECK((call) == PEC_RESULT_OK, "%s", #call)

static const char *DOMAINS[2] = {"pec.example.it", "pec.other.it"};

/* One message stored in a mailbox: the address and the kind. */
struct stored {
    char addr[96];
    char kind[48];
};

/* A message held back on the wire. */
struct held {
    int from;
    char mail_from[96];
    char rcpts[4][96];
    size_t rcpt_count;
    unsigned char *bytes;
    size_t len;
};

struct net {
    pec_engine *e[2];
    pec_verifier *verifier;
    int64_t now;
    struct stored boxes[64];
    size_t box_count;
    char built[32][48]; /* "N:kind" of every built message, in order */
    size_t built_count;
    int hold_envelopes;             /* hold posta-certificata on the relay */
    struct held held[8];
    size_t held_count;
    int luigi_answer;               /* PEC_MAILBOX_* for Luigi's mailbox */
    unsigned verified;              /* messages verified */
};

static const char *fixtures;
static const char *state_dir;
static int run_id = 0;

static pec_verifier *make_verifier(void)
{
    char path[1024];
    pec_trust_store *trust = NULL;
    pec_index *index = NULL;
    pec_verifier *v = NULL;
    size_t added = 0, len = 0;
    OK(pec_trust_store_new(&trust));
    snprintf(path, sizeof path, "%s/root.pem", fixtures);
    OK(pec_trust_store_add_file(trust, path, strlen(path), &added));
    snprintf(path, sizeof path, "%s/index.ldif", fixtures);
    unsigned char *ldif = read_file(path, &len);
    OK(pec_index_from_ldif(ldif, len, &index));
    free(ldif);
    OK(pec_verifier_new(&v));
    OK(pec_verifier_set_trust(v, trust));
    OK(pec_verifier_set_index(v, index));
    pec_trust_store_free(trust);
    pec_index_free(index);
    return v;
}

static void net_open(struct net *n)
{
    memset(n, 0, sizeof *n);
    n->now = (int64_t)time(NULL);
    n->luigi_answer = PEC_MAILBOX_STORED;
    n->verifier = make_verifier();
    run_id++;
    for (int i = 0; i < 2; i++) {
        char config[1024], store[1024];
        snprintf(config, sizeof config, "%s/%s-engine.toml", fixtures, i == 0 ? "a" : "b");
        snprintf(store, sizeof store, "sqlite:%s/run%d-%c.db", state_dir, run_id, "ab"[i]);
        pec_result r = pec_engine_open_with_manual_clock(config, strlen(config), store,
                                                         strlen(store), n->now, &n->e[i]);
        CHECK(r == PEC_RESULT_OK, "open engine %d: %u", i, (unsigned)r);
    }
}

static void net_close(struct net *n)
{
    for (int i = 0; i < 2; i++)
        pec_engine_free(n->e[i]);
    pec_verifier_free(n->verifier);
    for (size_t i = 0; i < n->held_count; i++)
        free(n->held[i].bytes);
}

static void advance(struct net *n, int64_t seconds)
{
    for (int i = 0; i < 2; i++) {
        OK(pec_engine_clock_advance(n->e[i], seconds));
        int64_t t = 0;
        OK(pec_engine_clock_now(n->e[i], &t));
        CHECK(t == n->now + seconds, "clock %d", i);
    }
    n->now += seconds;
}

static int view_eq(const char *s, size_t len, const char *want)
{
    return s != NULL && strlen(want) == len && memcmp(s, want, len) == 0;
}

/* Parses and verifies a built message through the C API: its kind is `kind`, its
 * Message-ID the outcome's, its signature valid with no reason at the engines' time. */
static void check_message(struct net *n, const pec_outcome *o, size_t i)
{
    const char *kind = NULL, *mid = NULL, *pkind = NULL, *pmid = NULL;
    size_t kind_len = 0, mid_len = 0, pkind_len = 0, pmid_len = 0, len = 0;
    const uint8_t *bytes = NULL;
    OK(pec_outcome_message_kind(o, i, &kind, &kind_len));
    if (view_eq(kind, kind_len, "forward"))
        return;
    OK(pec_outcome_message_bytes(o, i, &bytes, &len));
    OK(pec_outcome_message_message_id(o, i, &mid, &mid_len));
    pec_message *m = NULL;
    OK(pec_message_parse(bytes, len, &m));
    if (m == NULL)
        return;
    OK(pec_message_kind(m, &pkind, &pkind_len));
    CHECK(pkind != NULL && pkind_len == kind_len && memcmp(pkind, kind, kind_len) == 0,
          "kind %.*s parsed as %.*s", (int)kind_len, kind, (int)pkind_len, pkind ? pkind : "");
    OK(pec_message_message_id(m, &pmid, &pmid_len));
    CHECK(mid != NULL && pmid_len == mid_len && memcmp(pmid, mid, mid_len) == 0,
          "Message-ID of %.*s", (int)kind_len, kind);
    pec_message_free(m);
    OK(pec_verifier_set_clock_unix(n->verifier, n->now));
    pec_report *r = NULL;
    OK(pec_verifier_verify(n->verifier, bytes, len, &r));
    uint32_t verdict = 99;
    OK(pec_report_verdict(r, &verdict));
    const char *reason = NULL;
    size_t reason_len = 0;
    if (pec_report_reason_count(r) > 0)
        OK(pec_report_reason_name(r, 0, &reason, &reason_len));
    CHECK(verdict == PEC_VERDICT_VALID && pec_report_reason_count(r) == 0,
          "%.*s: verdict %u, %zu reasons (%.*s)", (int)kind_len, kind, verdict,
          pec_report_reason_count(r), (int)reason_len, reason ? reason : "");
    pec_report_free(r);
    n->verified++;
}

static void inbound(struct net *n, int to, const char *mail_from, const char **rcpts,
                    size_t count, const uint8_t *bytes, size_t len);
static void pump(struct net *n, int from, pec_outcome *o);

static void store_in(struct net *n, const char *addr, size_t addr_len, const uint8_t *bytes,
                     size_t len)
{
    pec_message *m = NULL;
    const char *k = NULL;
    size_t kl = 0;
    if (n->box_count >= sizeof n->boxes / sizeof n->boxes[0])
        return;
    struct stored *s = &n->boxes[n->box_count++];
    snprintf(s->addr, sizeof s->addr, "%.*s", (int)addr_len, addr);
    OK(pec_message_parse(bytes, len, &m));
    OK(pec_message_kind(m, &k, &kl));
    snprintf(s->kind, sizeof s->kind, "%.*s", k ? (int)kl : 8, k ? k : "ordinary");
    pec_message_free(m);
}

/* The kinds in `addr`'s mailbox, joined with commas. */
static const char *mailbox(const struct net *n, const char *addr)
{
    static char out[512];
    out[0] = '\0';
    for (size_t i = 0; i < n->box_count; i++) {
        if (strcmp(n->boxes[i].addr, addr) != 0)
            continue;
        if (out[0] != '\0')
            strncat(out, ",", sizeof out - strlen(out) - 1);
        strncat(out, n->boxes[i].kind, sizeof out - strlen(out) - 1);
    }
    return out;
}

static const char *built(const struct net *n)
{
    static char out[1024];
    out[0] = '\0';
    for (size_t i = 0; i < n->built_count; i++) {
        if (out[0] != '\0')
            strncat(out, ",", sizeof out - strlen(out) - 1);
        strncat(out, n->built[i], sizeof out - strlen(out) - 1);
    }
    return out;
}

static int domain_of(const char *rcpt, size_t len)
{
    for (int t = 0; t < 2; t++) {
        size_t dl = strlen(DOMAINS[t]);
        if (len > dl + 1 && rcpt[len - dl - 1] == '@' && memcmp(rcpt + len - dl, DOMAINS[t], dl) == 0)
            return t;
    }
    return -1;
}

/* Routes group g of message i of outcome o, emitted by engine `from`. */
static void route(struct net *n, int from, const pec_outcome *o, size_t i, size_t g)
{
    const char *rt = NULL, *mf = NULL, *kind = NULL;
    size_t rt_len = 0, mf_len = 0, kind_len = 0, len = 0;
    const uint8_t *bytes = NULL;
    char mail_from[128];
    OK(pec_outcome_message_group_route(o, i, g, &rt, &rt_len));
    OK(pec_outcome_message_mail_from(o, i, &mf, &mf_len));
    OK(pec_outcome_message_kind(o, i, &kind, &kind_len));
    OK(pec_outcome_message_bytes(o, i, &bytes, &len));
    snprintf(mail_from, sizeof mail_from, "%.*s", (int)mf_len, mf ? mf : "");
    size_t count = pec_outcome_message_rcpt_count(o, i, g);
    const char *rcpts[8];
    size_t lens[8];
    char copies[8][96];
    if (count > 8)
        count = 8;
    for (size_t j = 0; j < count; j++) {
        OK(pec_outcome_message_rcpt(o, i, g, j, &rcpts[j], &lens[j]));
        snprintf(copies[j], sizeof copies[j], "%.*s", (int)lens[j], rcpts[j]);
    }
    if (view_eq(rt, rt_len, "relay")) {
        if (n->hold_envelopes && view_eq(kind, kind_len, "posta-certificata") &&
            n->held_count < 8) {
            struct held *h = &n->held[n->held_count++];
            h->from = from;
            snprintf(h->mail_from, sizeof h->mail_from, "%.95s", mail_from);
            h->rcpt_count = count < 4 ? count : 4;
            for (size_t j = 0; j < h->rcpt_count; j++)
                snprintf(h->rcpts[j], sizeof h->rcpts[j], "%.95s", copies[j]);
            h->bytes = malloc(len);
            memcpy(h->bytes, bytes, len);
            h->len = len;
            return;
        }
        for (int t = 0; t < 2; t++) {
            const char *to[8];
            size_t k = 0;
            for (size_t j = 0; j < count; j++)
                if (domain_of(copies[j], strlen(copies[j])) == t)
                    to[k++] = copies[j];
            if (k > 0)
                inbound(n, t, mail_from, to, k, bytes, len);
        }
    } else if (view_eq(rt, rt_len, "loopback")) {
        const char *to[8];
        for (size_t j = 0; j < count; j++)
            to[j] = copies[j];
        inbound(n, from, mail_from, to, count, bytes, len);
    } else if (view_eq(rt, rt_len, "deliver")) {
        pec_mailbox_answer answers[8];
        for (size_t j = 0; j < count; j++) {
            int is_luigi = strcmp(copies[j], LUIGI) == 0;
            uint32_t a = is_luigi ? (uint32_t)n->luigi_answer : PEC_MAILBOX_STORED;
            answers[j] = (pec_mailbox_answer){
                .rcpt = copies[j],
                .rcpt_len = strlen(copies[j]),
                .outcome = a,
                .status = a == PEC_MAILBOX_TEMPORARY ? "4.2.1" : NULL,
                .status_len = a == PEC_MAILBOX_TEMPORARY ? 5 : 0,
                .text = a == PEC_MAILBOX_TEMPORARY ? "try later" : NULL,
                .text_len = a == PEC_MAILBOX_TEMPORARY ? 9 : 0,
            };
            if (a == PEC_MAILBOX_STORED)
                store_in(n, copies[j], strlen(copies[j]), bytes, len);
        }
        pec_outcome *res = NULL;
        OK(pec_engine_mailbox_result(n->e[from], mail_from, strlen(mail_from), answers, count,
                                     bytes, len, &res));
        CHECK(pec_outcome_rcpt_reply_count(res) == count, "one LMTP reply per recipient");
        for (size_t j = 0; j < pec_outcome_rcpt_reply_count(res); j++) {
            uint16_t code = 0;
            const char *who = NULL;
            size_t who_len = 0;
            OK(pec_outcome_rcpt_reply_code(res, j, &code));
            OK(pec_outcome_rcpt_reply_recipient(res, j, &who, &who_len));
            uint16_t want = answers[j].outcome == PEC_MAILBOX_TEMPORARY ? 451 : 250;
            CHECK(code == want, "LMTP reply for %.*s: %u", (int)who_len, who, code);
        }
        pump(n, from, res);
    } else if (view_eq(rt, rt_len, "service-mailbox")) {
        for (size_t j = 0; j < count; j++)
            store_in(n, copies[j], strlen(copies[j]), bytes, len);
    } else {
        CHECK(0, "unknown route %.*s", (int)rt_len, rt);
    }
}

/* Sends what the outcome says (checking each built message), acks it, frees the outcome. */
static void pump(struct net *n, int from, pec_outcome *o)
{
    size_t count = pec_outcome_message_count(o);
    for (size_t i = 0; i < count; i++) {
        bool sent = true;
        int64_t id = 0;
        const char *kind = NULL;
        size_t kind_len = 0;
        OK(pec_outcome_message_sent(o, i, &sent));
        if (sent)
            continue;
        OK(pec_outcome_message_id(o, i, &id));
        OK(pec_outcome_message_kind(o, i, &kind, &kind_len));
        check_message(n, o, i);
        if (!view_eq(kind, kind_len, "forward") &&
            n->built_count < sizeof n->built / sizeof n->built[0])
            snprintf(n->built[n->built_count++], sizeof n->built[0], "%d:%.*s", from,
                     (int)kind_len, kind);
        for (size_t g = 0; g < pec_outcome_message_group_count(o, i); g++)
            route(n, from, o, i, g);
        size_t acked = 0;
        OK(pec_engine_ack(n->e[from], &id, 1, &acked));
        CHECK(acked == 1, "ack of %lld", (long long)id);
    }
    pec_outcome_free(o);
}

static void inbound(struct net *n, int to, const char *mail_from, const char **rcpts,
                    size_t count, const uint8_t *bytes, size_t len)
{
    size_t lens[8];
    for (size_t j = 0; j < count; j++)
        lens[j] = strlen(rcpts[j]);
    pec_outcome *o = NULL;
    OK(pec_engine_inbound(n->e[to], mail_from, strlen(mail_from), rcpts, lens, count, bytes,
                          len, NULL, 0, &o));
    CHECK(pec_outcome_reply_code(o) == 250, "inbound reply %u", pec_outcome_reply_code(o));
    pump(n, to, o);
}

static void release(struct net *n)
{
    size_t count = n->held_count;
    n->held_count = 0;
    n->hold_envelopes = 0;
    for (size_t h = 0; h < count; h++) {
        const char *to[4];
        for (size_t j = 0; j < n->held[h].rcpt_count; j++)
            to[j] = n->held[h].rcpts[j];
        int t = domain_of(to[0], strlen(to[0]));
        inbound(n, t, n->held[h].mail_from, to, n->held[h].rcpt_count, n->held[h].bytes,
                n->held[h].len);
        free(n->held[h].bytes);
    }
}

static const char ORIGINAL[] = "From: " MARIO "\r\nTo: " LUIGI "\r\nSubject: prova\r\n"
                               "Message-ID: <c1@client.test>\r\n"
                               "Date: Tue, 01 Dec 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
                               "Content-Type: text/plain; charset=utf-8\r\n\r\nTesto.\r\n";

/* Submits ORIGINAL (Mario to Luigi) at engine 0 without sending anything. */
static pec_outcome *submission(struct net *n)
{
    const char *rcpt = LUIGI;
    size_t rcpt_len = strlen(LUIGI);
    pec_outcome *o = NULL;
    OK(pec_engine_submission(n->e[0], MARIO, strlen(MARIO), &rcpt, &rcpt_len, 1,
                             (const uint8_t *)ORIGINAL, sizeof ORIGINAL - 1, NULL, 0, &o));
    return o;
}

/* Submits and sends; returns the identifier (static buffer). */
static const char *submit(struct net *n)
{
    static char id[256];
    pec_outcome *o = submission(n);
    CHECK(pec_outcome_reply_code(o) == 250, "submission reply %u", pec_outcome_reply_code(o));
    const char *line = NULL, *ident = NULL;
    size_t line_len = 0, ident_len = 0;
    OK(pec_outcome_reply_line(o, &line, &line_len));
    CHECK(line_len > 4 && memcmp(line, "250 ", 4) == 0, "reply line %.*s", (int)line_len, line);
    CHECK(!pec_outcome_replayed(o), "first submission is not replayed");
    CHECK(pec_outcome_message_count(o) == 2, "acceptance and envelope");
    OK(pec_outcome_message_identifier(o, 1, &ident, &ident_len));
    snprintf(id, sizeof id, "%.*s", (int)ident_len, ident ? ident : "");
    pump(n, 0, o);
    return id;
}

/* The due notices of engine i: sent through the wire; returns how many, and whether their
 * bytes contain `text` (every one of them). */
static size_t run_due(struct net *n, int i, const char *text, int *all_contain)
{
    pec_outcome *o = NULL;
    OK(pec_engine_run_due(n->e[i], 0, &o));
    size_t count = pec_outcome_message_count(o);
    *all_contain = 1;
    for (size_t k = 0; k < count; k++) {
        const uint8_t *b = NULL;
        size_t len = 0;
        OK(pec_outcome_message_bytes(o, k, &b, &len));
        size_t tl = strlen(text);
        int found = 0;
        for (size_t p = 0; p + tl <= len && !found; p++)
            found = memcmp(b + p, text, tl) == 0;
        *all_contain &= found;
    }
    pump(n, i, o);
    return count;
}

static int contains(const pec_bytes *json, const char *needle)
{
    size_t len = pec_bytes_len(json), nl = strlen(needle);
    const uint8_t *d = pec_bytes_data(json);
    for (size_t p = 0; p + nl <= len; p++)
        if (memcmp(d + p, needle, nl) == 0)
            return 1;
    return 0;
}

static void status_has(struct net *n, int i, const char *id, const char *needle)
{
    pec_bytes *json = NULL;
    OK(pec_engine_status(n->e[i], id, strlen(id), &json));
    CHECK(json != NULL && contains(json, needle), "status of %s at %d lacks %s: %.*s", id, i,
          needle, (int)pec_bytes_len(json), (const char *)pec_bytes_data(json));
    pec_bytes_free(json);
}

static void happy_path(void)
{
    struct net n;
    int all;
    net_open(&n);
    const char *id = submit(&n);
    CHECK(strcmp(built(&n), "0:accettazione,0:posta-certificata,1:presa-in-carico,"
                            "1:avvenuta-consegna") == 0,
          "built %s", built(&n));
    CHECK(strcmp(mailbox(&n, LUIGI), "posta-certificata") == 0, "%s", mailbox(&n, LUIGI));
    CHECK(strcmp(mailbox(&n, MARIO), "accettazione,avvenuta-consegna") == 0, "%s",
          mailbox(&n, MARIO));
    CHECK(strcmp(mailbox(&n, ALPHA_BOX), "presa-in-carico") == 0, "%s", mailbox(&n, ALPHA_BOX));
    status_has(&n, 0, id, "\"state\":\"delivered\"");
    status_has(&n, 1, id, "\"received\":[{\"address\":\"" LUIGI "\"");
    /* nothing pending, nothing due, ever */
    pec_bytes *pending = NULL;
    OK(pec_engine_status(n.e[0], NULL, 0, &pending));
    CHECK(pending != NULL && pec_bytes_len(pending) == 2 && memcmp(pec_bytes_data(pending), "[]", 2) == 0,
          "pending %.*s", (int)pec_bytes_len(pending), (const char *)pec_bytes_data(pending));
    pec_bytes_free(pending);
    pec_bytes *unknown = NULL;
    OK(pec_engine_status(n.e[0], "nobody@nowhere", 14, &unknown));
    CHECK(pec_bytes_len(unknown) == 4, "unknown identifier is null");
    pec_bytes_free(unknown);
    advance(&n, 25 * HOUR);
    CHECK(run_due(&n, 0, "", &all) == 0, "nothing due at A");
    CHECK(run_due(&n, 1, "", &all) == 0, "nothing due at B");
    CHECK(n.verified == 4, "verified %u", n.verified);
    net_close(&n);
}

/* §3.1.6 case 2: no take-charge, delivery between 12 h and 24 h: the 12 h notice only. */
static void twelve_hours_then_late_delivery(void)
{
    struct net n;
    int all = 0;
    net_open(&n);
    n.hold_envelopes = 1;
    const char *id = submit(&n);
    advance(&n, 12 * HOUR - 60);
    CHECK(run_due(&n, 0, "", &all) == 0, "nothing before 12 h");
    advance(&n, 60);
    CHECK(run_due(&n, 0, "12 ore", &all) == 1 && all, "the 12 h notice");
    status_has(&n, 0, id, "\"state\":\"pending\"");
    advance(&n, 3 * HOUR);
    release(&n);
    status_has(&n, 0, id, "\"state\":\"delivered\"");
    advance(&n, 10 * HOUR);
    CHECK(run_due(&n, 0, "", &all) == 0, "no 24 h notice after delivery");
    CHECK(strcmp(mailbox(&n, MARIO),
                 "accettazione,preavviso-errore-consegna,avvenuta-consegna") == 0,
          "%s", mailbox(&n, MARIO));
    net_close(&n);
}

/* §3.1.6 case 1: take-charge within 12 h, no delivery: the 24 h notice only. */
static void take_charge_but_no_delivery(void)
{
    struct net n;
    int all = 0;
    net_open(&n);
    n.luigi_answer = PEC_MAILBOX_TEMPORARY;
    const char *id = submit(&n);
    status_has(&n, 0, id, "\"state\":\"taken-in-charge\"");
    advance(&n, 12 * HOUR + 60);
    CHECK(run_due(&n, 0, "", &all) == 0, "12 h cancelled by the take-charge");
    advance(&n, 9 * HOUR + 58 * 60); /* 21:59 */
    CHECK(run_due(&n, 0, "", &all) == 0, "never before 22 h");
    advance(&n, HOUR + 60); /* 23:00 */
    CHECK(run_due(&n, 0, "24 ore", &all) == 1 && all, "the 24 h notice");
    status_has(&n, 0, id, "\"state\":\"timed-out\"");
    advance(&n, 5 * HOUR);
    CHECK(run_due(&n, 0, "", &all) == 0, "once");
    CHECK(strcmp(mailbox(&n, MARIO), "accettazione,preavviso-errore-consegna") == 0, "%s",
          mailbox(&n, MARIO));
    net_close(&n);
}

/* §3.1.6 case 3: nothing at all: both notices. */
static void nothing_at_all(void)
{
    struct net n;
    int all = 0;
    net_open(&n);
    n.hold_envelopes = 1;
    const char *id = submit(&n);
    advance(&n, 12 * HOUR);
    CHECK(run_due(&n, 0, "12 ore", &all) == 1 && all, "12 h");
    advance(&n, 11 * HOUR);
    CHECK(run_due(&n, 0, "24 ore", &all) == 1 && all, "24 h");
    status_has(&n, 0, id, "\"state\":\"timed-out\"");
    status_has(&n, 0, id, "preavviso-errore-consegna/24h");
    release(&n);
    net_close(&n);
}

/* A submission whose messages were never acknowledged: the MTA's retry gets the same bytes
 * (same Message-IDs, same outbox ids), and so does pec_engine_unsent; after the ack the
 * retry says they were sent. */
static void retry_after_missing_ack_returns_the_same_bytes(void)
{
    struct net n;
    net_open(&n);
    pec_outcome *first = submission(&n);
    pec_outcome *second = submission(&n);
    pec_outcome *unsent = NULL;
    OK(pec_engine_unsent(n.e[0], 0, &unsent));
    CHECK(!pec_outcome_replayed(first) && pec_outcome_replayed(second), "replayed flags");
    size_t count = pec_outcome_message_count(first);
    CHECK(count == 2 && pec_outcome_message_count(second) == count &&
              pec_outcome_message_count(unsent) == count,
          "counts %zu %zu %zu", count, pec_outcome_message_count(second),
          pec_outcome_message_count(unsent));
    int64_t ids[2] = {0, 0};
    for (size_t i = 0; i < count && i < 2; i++) {
        const uint8_t *a = NULL, *b = NULL, *c = NULL;
        size_t al = 0, bl = 0, cl = 0;
        int64_t ia = 0, ib = 0, ic = 0;
        OK(pec_outcome_message_bytes(first, i, &a, &al));
        OK(pec_outcome_message_bytes(second, i, &b, &bl));
        OK(pec_outcome_message_bytes(unsent, i, &c, &cl));
        CHECK(al == bl && al > 0 && memcmp(a, b, al) == 0, "retry: same bytes for %zu", i);
        CHECK(al == cl && memcmp(a, c, al) == 0, "unsent: same bytes for %zu", i);
        OK(pec_outcome_message_id(first, i, &ia));
        OK(pec_outcome_message_id(second, i, &ib));
        OK(pec_outcome_message_id(unsent, i, &ic));
        CHECK(ia == ib && ia == ic, "same outbox ids");
        ids[i] = ia;
        check_message(&n, second, i);
    }
    size_t acked = 0;
    OK(pec_engine_ack(n.e[0], ids, 2, &acked));
    CHECK(acked == 2, "acked %zu", acked);
    OK(pec_engine_ack(n.e[0], ids, 2, &acked));
    CHECK(acked == 0, "a second ack changes nothing");
    pec_outcome *third = submission(&n);
    bool sent = false;
    OK(pec_outcome_message_sent(third, 0, &sent));
    CHECK(pec_outcome_replayed(third) && sent, "after the ack the retry says sent");
    pec_outcome *none = NULL;
    OK(pec_engine_unsent(n.e[0], 0, &none));
    CHECK(pec_outcome_message_count(none) == 0, "nothing unsent");
    pec_outcome_free(first);
    pec_outcome_free(second);
    pec_outcome_free(third);
    pec_outcome_free(unsent);
    pec_outcome_free(none);
    net_close(&n);
}

/* Misuse: NULL arguments, outputs untouched on failure, bad configuration. */
static void misuse(void)
{
    pec_engine *e = (pec_engine *)0x1;
    const char *bad = "/nonexistent/engine.toml";
    CHECK(pec_engine_open(bad, strlen(bad), &e) == PEC_RESULT_ENGINE_CONFIG,
          "missing configuration file");
    CHECK(e == (pec_engine *)0x1, "output untouched on failure");
    CHECK(pec_engine_open(NULL, 0, &e) == PEC_RESULT_NULL_PARAMETER, "NULL path");
    CHECK(pec_engine_open_with_store(bad, strlen(bad), "sqlite:x.db", 11, &e) ==
              PEC_RESULT_ENGINE_CONFIG,
          "missing configuration file, store given");
    pec_outcome *o = (pec_outcome *)0x1;
    CHECK(pec_engine_run_due(NULL, 0, &o) == PEC_RESULT_NULL_PARAMETER, "NULL engine");
    CHECK(o == (pec_outcome *)0x1, "output untouched");
    CHECK(pec_outcome_message_count(NULL) == 0 && pec_outcome_reply_code(NULL) == 0, "NULL");
    pec_outcome_free(NULL);
    pec_engine_free(NULL);
    char name[64];
    size_t nl = 0;
    OK(pec_result_name(PEC_RESULT_ENGINE_STORE, name, sizeof name, &nl));
    CHECK(strcmp(name, "engine_store") == 0, "%s", name);

    struct net n;
    net_open(&n);
    pec_outcome *out = NULL;
    const uint8_t *b = NULL;
    size_t len = 0;
    OK(pec_engine_run_due(n.e[0], 0, &out));
    CHECK(pec_outcome_message_bytes(out, 0, &b, &len) == PEC_RESULT_INVALID_PARAMETER,
          "index out of range");
    pec_outcome_free(out);
    pec_mailbox_answer a = {.rcpt = LUIGI, .rcpt_len = strlen(LUIGI), .outcome = 7};
    out = (pec_outcome *)0x1;
    CHECK(pec_engine_mailbox_result(n.e[0], MARIO, strlen(MARIO), &a, 1,
                                    (const uint8_t *)ORIGINAL, sizeof ORIGINAL - 1,
                                    &out) == PEC_RESULT_INVALID_PARAMETER,
          "unknown mailbox outcome");
    CHECK(out == (pec_outcome *)0x1, "output untouched");
    CHECK(pec_engine_clock_advance(n.e[0], -1) == PEC_RESULT_INVALID_PARAMETER, "backwards");
    net_close(&n);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_engine FIXTURES STATE_DIR\n");
        return 64;
    }
    fixtures = argv[1];
    state_dir = argv[2];
    happy_path();
    twelve_hours_then_late_delivery();
    take_charge_but_no_delivery();
    nothing_at_all();
    retry_after_missing_ack_returns_the_same_bytes();
    misuse();
    if (failures != 0) {
        fprintf(stderr, "test_engine: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_engine: all engine tests passed\n");
    return 0;
}
