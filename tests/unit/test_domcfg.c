#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dom0/domcfg.h"
#include "plinth/errno.h"

#define ERRLEN 512

/* Parse text[0..len) from a heap copy of exactly len bytes, so that ASan
 * reports any read past the end. */
static int parse_n(const char *text, size_t len, struct domcfg *c, char *err)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    memset(err, 'X', ERRLEN);
    int rc = domcfg_parse("g.cfg", copy, len, c, err, ERRLEN);
    free(copy);
    return rc;
}

static int parse(const char *text, struct domcfg *c, char *err)
{
    return parse_n(text, strlen(text), c, err);
}

/* A macro so that a failure reports the caller's line. */
#define EXPECT_ERR(text, rc, msg)                                                                                      \
    do {                                                                                                               \
        struct domcfg c_;                                                                                              \
        char e_[ERRLEN];                                                                                               \
        assert_int_equal(parse((text), &c_, e_), (rc));                                                                \
        assert_string_equal(e_, (msg));                                                                                \
    } while (0)

#define EXPECT_OK(text, c)                                                                                             \
    do {                                                                                                               \
        char e_[ERRLEN];                                                                                               \
        int rc_ = parse((text), (c), e_);                                                                              \
        if (rc_)                                                                                                       \
            print_error("unexpected error: %s\n", e_);                                                                 \
        assert_int_equal(rc_, 0);                                                                                      \
        assert_string_equal(e_, "");                                                                                   \
    } while (0)

#define BASE "name = \"g\"\nkernel = \"k.elf\"\n"

static const char full_config[] =
    "# Web server guest\n"                                             /* 1 */
    "\n"                                                               /* 2 */
    "name = \"web-1.prod_A\"\n"                                        /* 3 */
    "memory = 0x40          # 64 MiB\n"                                /* 4 */
    "  vcpus=2\n"                                                      /* 5 */
    "kernel = \"guests/web \\\"v2\\\"\\\\x.elf\"\n"                    /* 6 */
    "cmdline = \"console=hvc0 # not a comment\"#comment\n"             /* 7 */
    "weight = 512\n"                                                   /* 8 */
    "cap\t=\t6400\n"                                                   /* 9 */
    "cpus = \"0-3,6,63\"\n"                                            /* 10 */
    "autostart = 1\n"                                                  /* 11 */
    "\t\n"                                                             /* 12 */
    "disk = [\n"                                                       /* 13 */
    "    \"phy:ata0p1,xvda,w\",   # root\n"                            /* 14 */
    "    # a comment inside the list\n"                                /* 15 */
    "\n"                                                               /* 16 */
    "    \"file:/img/a:b.img,xvdb,r\",\n"                              /* 17 */
    "]\n"                                                              /* 18 */
    "vif = [ \"mac=00:16:3e:00:00:01,bridge=xenbr0,vlan=10\", "
    "\"bridge=br-1.x,mac=02:AB:cd:EF:0f:F0\" ] # two nics\n"            /* 19 */
    "console = \"virtio\"\n";                                         /* 20 */

static void check_full(const struct domcfg *c)
{
    assert_int_equal(c->set, (1u << DOMCFG_KEY_COUNT) - 1);
    assert_string_equal(c->name, "web-1.prod_A");
    assert_int_equal(c->memory_mib, 64);
    assert_int_equal(c->vcpus, 2);
    assert_string_equal(c->kernel, "guests/web \"v2\"\\x.elf");
    assert_string_equal(c->cmdline, "console=hvc0 # not a comment");
    assert_int_equal(c->weight, 512);
    assert_int_equal(c->cap, 6400);
    assert_int_equal(c->cpus, 0x800000000000004full);
    assert_true(c->autostart);
    assert_int_equal(c->disk_count, 2);
    assert_string_equal(c->disks[0], "phy:ata0p1,xvda,w");
    assert_string_equal(c->disks[1], "file:/img/a:b.img,xvdb,r");
    assert_int_equal(c->vif_count, 2);
    static const uint8_t mac0[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };
    static const uint8_t mac1[6] = { 0x02, 0xab, 0xcd, 0xef, 0x0f, 0xf0 };
    assert_memory_equal(c->vifs[0].mac, mac0, 6);
    assert_string_equal(c->vifs[0].bridge, "xenbr0");
    assert_int_equal(c->vifs[0].vlan, 10);
    assert_memory_equal(c->vifs[1].mac, mac1, 6);
    assert_string_equal(c->vifs[1].bridge, "br-1.x");
    assert_int_equal(c->vifs[1].vlan, 0);
    assert_int_equal(c->console, DOMCFG_CONSOLE_VIRTIO);
}

static void test_full_config(void **state)
{
    (void)state;
    struct domcfg c;
    EXPECT_OK(full_config, &c);
    check_full(&c);
}

/* The same config with CRLF line endings, and without a final newline. */
static void test_crlf_and_no_final_newline(void **state)
{
    (void)state;
    char crlf[2 * sizeof(full_config)];
    size_t n = 0;
    for (const char *s = full_config; *s; s++) {
        if (*s == '\n')
            crlf[n++] = '\r';
        crlf[n++] = *s;
    }
    crlf[n] = '\0';
    assert_non_null(strstr(crlf, "]\r\nvif"));
    struct domcfg c;
    EXPECT_OK(crlf, &c);
    check_full(&c);

    char nonl[sizeof(full_config)];
    memcpy(nonl, full_config, sizeof(full_config));
    nonl[strlen(nonl) - 1] = '\0';
    assert_int_not_equal(nonl[strlen(nonl) - 1], '\n');
    EXPECT_OK(nonl, &c);
    check_full(&c);

    EXPECT_OK("name = \"g\"\r\nkernel = \"k\"", &c);
    assert_string_equal(c.kernel, "k");
    EXPECT_OK("name = \"g\"\nkernel = \"k\"\r", &c);
    assert_string_equal(c.kernel, "k");
    /* A missing final newline does not hide an error on the last line. */
    EXPECT_ERR(BASE "memory = 2000", -PL_EINVAL, "g.cfg:3: memory: 2000 is outside 4..1024 MiB");
    EXPECT_ERR(BASE "cmdline = \"abc", -PL_EINVAL, "g.cfg:3: cmdline: unterminated string");
    /* A lone CR inside a line is not a line ending. */
    EXPECT_ERR(BASE "memory = 16\r\rvcpus = 2\n", -PL_EINVAL,
               "g.cfg:3: memory: \"16\r\rvcpus\" is not an integer");
}

static void test_defaults(void **state)
{
    (void)state;
    struct domcfg c;
    memset(&c, 0xa5, sizeof(c));
    EXPECT_OK(BASE, &c);
    assert_int_equal(c.set, DOMCFG_HAS(DOMCFG_KEY_NAME) | DOMCFG_HAS(DOMCFG_KEY_KERNEL));
    assert_string_equal(c.name, "g");
    assert_string_equal(c.kernel, "k.elf");
    assert_string_equal(c.cmdline, "");
    assert_int_equal(c.memory_mib, 16);
    assert_int_equal(c.vcpus, 1);
    assert_int_equal(c.weight, 256);
    assert_int_equal(c.cap, 0);
    assert_int_equal(c.cpus, 0);
    assert_false(c.autostart);
    assert_int_equal(c.disk_count, 0);
    assert_int_equal(c.vif_count, 0);
    assert_int_equal(c.console, DOMCFG_CONSOLE_NONE);

    /* Explicitly set to the default value still counts as set. */
    EXPECT_OK(BASE "memory = 16\nautostart = 0\ndisk = []\nvif = [\n]\n", &c);
    assert_int_equal(c.set, DOMCFG_HAS(DOMCFG_KEY_NAME) | DOMCFG_HAS(DOMCFG_KEY_KERNEL) |
                                DOMCFG_HAS(DOMCFG_KEY_MEMORY) | DOMCFG_HAS(DOMCFG_KEY_AUTOSTART) |
                                DOMCFG_HAS(DOMCFG_KEY_DISK) | DOMCFG_HAS(DOMCFG_KEY_VIF));
    assert_int_equal(c.memory_mib, 16);
    assert_int_equal(c.disk_count, 0);
    assert_int_equal(c.vif_count, 0);
    assert_string_equal(domcfg_key_name(DOMCFG_KEY_AUTOSTART), "autostart");
    assert_null(domcfg_key_name(DOMCFG_KEY_COUNT));
}

static void test_missing_required(void **state)
{
    (void)state;
    EXPECT_ERR("name = \"g\"\n", -PL_EINVAL, "g.cfg: missing required key 'kernel'");
    EXPECT_ERR("kernel = \"k\"\n", -PL_EINVAL, "g.cfg: missing required key 'name'");
    EXPECT_ERR("", -PL_EINVAL, "g.cfg: missing required key 'name'");
    EXPECT_ERR("# nothing\n\n", -PL_EINVAL, "g.cfg: missing required key 'name'");
    EXPECT_ERR("name = \"g\"\nkernel = \"\"\n", -PL_EINVAL, "g.cfg:2: kernel: empty string");
}

static void test_memory_bounds(void **state)
{
    (void)state;
    struct domcfg c;
    EXPECT_OK(BASE "memory = 4\n", &c);
    assert_int_equal(c.memory_mib, 4);
    EXPECT_OK(BASE "memory = 1024\n", &c);
    assert_int_equal(c.memory_mib, 1024);
    EXPECT_OK(BASE "memory = 0X400\n", &c);
    assert_int_equal(c.memory_mib, 1024);
    EXPECT_ERR(BASE "memory = 3\n", -PL_EINVAL, "g.cfg:3: memory: 3 is outside 4..1024 MiB");
    EXPECT_ERR(BASE "memory = 1025\n", -PL_EINVAL, "g.cfg:3: memory: 1025 is outside 4..1024 MiB");
    EXPECT_ERR(BASE "memory = 0\n", -PL_EINVAL, "g.cfg:3: memory: 0 is outside 4..1024 MiB");
    EXPECT_ERR(BASE "memory = 0x401\n", -PL_EINVAL, "g.cfg:3: memory: 0x401 is outside 4..1024 MiB");
    /* 2^64 + 16 must not wrap around to 16. */
    EXPECT_ERR(BASE "memory = 18446744073709551632\n", -PL_EINVAL,
               "g.cfg:3: memory: 18446744073709551632 is outside 4..1024 MiB");
    EXPECT_ERR(BASE "memory = 0x10000000000000010\n", -PL_EINVAL,
               "g.cfg:3: memory: 0x10000000000000010 is outside 4..1024 MiB");
}

static void test_other_int_bounds(void **state)
{
    (void)state;
    struct domcfg c;
    EXPECT_OK(BASE "vcpus = 1\n", &c);
    assert_int_equal(c.vcpus, 1);
    EXPECT_OK(BASE "vcpus = 8\n", &c);
    assert_int_equal(c.vcpus, 8);
    EXPECT_ERR(BASE "vcpus = 0\n", -PL_EINVAL, "g.cfg:3: vcpus: 0 is outside 1..8");
    EXPECT_ERR(BASE "vcpus = 9\n", -PL_EINVAL, "g.cfg:3: vcpus: 9 is outside 1..8");
    EXPECT_OK(BASE "weight = 1\n", &c);
    assert_int_equal(c.weight, 1);
    EXPECT_OK(BASE "weight = 0xffff\n", &c);
    assert_int_equal(c.weight, 65535);
    EXPECT_ERR(BASE "weight = 0\n", -PL_EINVAL, "g.cfg:3: weight: 0 is outside 1..65535");
    EXPECT_ERR(BASE "weight = 65536\n", -PL_EINVAL, "g.cfg:3: weight: 65536 is outside 1..65535");
    EXPECT_OK(BASE "cap = 0\n", &c);
    assert_int_equal(c.cap, 0);
    assert_true(c.set & DOMCFG_HAS(DOMCFG_KEY_CAP));
    EXPECT_ERR(BASE "cap = 6401\n", -PL_EINVAL, "g.cfg:3: cap: 6401 is outside 0..6400 percent");
    EXPECT_OK(BASE "autostart = 0x1\n", &c);
    assert_true(c.autostart);
    EXPECT_ERR(BASE "autostart = 2\n", -PL_EINVAL, "g.cfg:3: autostart: 2 is outside 0..1");
}

static void test_integer_syntax(void **state)
{
    (void)state;
    EXPECT_ERR(BASE "memory = 16M\n", -PL_EINVAL, "g.cfg:3: memory: \"16M\" is not an integer");
    EXPECT_ERR(BASE "memory = -5\n", -PL_EINVAL, "g.cfg:3: memory: \"-5\" is not an integer");
    EXPECT_ERR(BASE "memory = 010\n", -PL_EINVAL, "g.cfg:3: memory: \"010\" is not an integer");
    EXPECT_ERR(BASE "memory = 0x\n", -PL_EINVAL, "g.cfg:3: memory: \"0x\" is not an integer");
    EXPECT_ERR(BASE "memory = 0x1g\n", -PL_EINVAL, "g.cfg:3: memory: \"0x1g\" is not an integer");
    EXPECT_ERR(BASE "memory = \"16\"\n", -PL_EINVAL, "g.cfg:3: memory: \"\"16\"\" is not an integer");
    EXPECT_ERR(BASE "memory = [ 16 ]\n", -PL_EINVAL, "g.cfg:3: memory: \"[\" is not an integer");
    EXPECT_ERR(BASE "memory =\n", -PL_EINVAL, "g.cfg:3: memory: missing value");
    EXPECT_ERR(BASE "memory = # none\n", -PL_EINVAL, "g.cfg:3: memory: missing value");
    EXPECT_ERR(BASE "memory 16\n", -PL_EINVAL, "g.cfg:3: memory: expected '=' after the key");
    EXPECT_ERR(BASE "memory\n", -PL_EINVAL, "g.cfg:3: memory: expected '=' after the key");
    EXPECT_ERR(BASE "= 16\n", -PL_EINVAL, "g.cfg:3: expected 'key = value'");
}

static void test_unknown_and_duplicate_keys(void **state)
{
    (void)state;
    EXPECT_ERR(BASE "memroy = 64\n", -PL_EINVAL, "g.cfg:3: unknown key 'memroy'");
    EXPECT_ERR(BASE "Memory = 64\n", -PL_EINVAL, "g.cfg:3: unknown key 'Memory'");
    EXPECT_ERR(BASE "mem-ory = 64\n", -PL_EINVAL, "g.cfg:3: unknown key 'mem'");
    EXPECT_ERR(BASE "memory = 64\n\nmemory = 64\n", -PL_EINVAL,
               "g.cfg:5: memory: duplicate key (first set on line 3)");
    EXPECT_ERR("name = \"a\"\nname = \"a\"\n", -PL_EINVAL, "g.cfg:2: name: duplicate key (first set on line 1)");
    EXPECT_ERR(BASE "disk = []\ndisk = [ \"a:b,c,r\" ]\n", -PL_EINVAL,
               "g.cfg:4: disk: duplicate key (first set on line 3)");
}

static void test_trailing_junk(void **state)
{
    (void)state;
    EXPECT_ERR(BASE "memory = 16 MiB\n", -PL_EINVAL, "g.cfg:3: memory: unexpected \"MiB\" after the value");
    EXPECT_ERR(BASE "cmdline = \"a\" \"b\"\n", -PL_EINVAL, "g.cfg:3: cmdline: unexpected \"\"b\"\" after the value");
    EXPECT_ERR(BASE "cmdline = \"a\"x\n", -PL_EINVAL, "g.cfg:3: cmdline: unexpected \"x\" after the value");
    EXPECT_ERR(BASE "disk = [ \"a:b,c,r\" ] ]\n", -PL_EINVAL, "g.cfg:3: disk: unexpected \"]\" after the value");
    EXPECT_ERR(BASE "disk = [\n\"a:b,c,r\"\n] x\n", -PL_EINVAL, "g.cfg:5: disk: unexpected \"x\" after the value");
    /* The junk shown is capped at 32 bytes. */
    EXPECT_ERR(BASE "vcpus = 2 0123456789012345678901234567890123456789\n", -PL_EINVAL,
               "g.cfg:3: vcpus: unexpected \"01234567890123456789012345678901\" after the value");
}

static void test_name_bounds(void **state)
{
    (void)state;
    struct domcfg c;
    EXPECT_OK("kernel = \"k\"\nname = \"abcdefghijklmnopqrstuvwxyz01234\"\n", &c);
    assert_int_equal(strlen(c.name), 31);
    assert_string_equal(c.name, "abcdefghijklmnopqrstuvwxyz01234");
    EXPECT_ERR("kernel = \"k\"\nname = \"abcdefghijklmnopqrstuvwxyz012345\"\n", -PL_E2BIG,
               "g.cfg:2: name: 32 characters, at most 31 allowed");
    EXPECT_ERR("kernel = \"k\"\nname = \"\"\n", -PL_EINVAL, "g.cfg:2: name: empty string");
    EXPECT_ERR("kernel = \"k\"\nname = \"web 1\"\n", -PL_EINVAL,
               "g.cfg:2: name: invalid character ' ' in \"web 1\" (allowed: A-Z a-z 0-9 _ . -)");
    EXPECT_ERR("kernel = \"k\"\nname = \"a/b\"\n", -PL_EINVAL,
               "g.cfg:2: name: invalid character '/' in \"a/b\" (allowed: A-Z a-z 0-9 _ . -)");
    EXPECT_ERR("kernel = \"k\"\nname = \"caf\xc3\xa9\"\n", -PL_EINVAL,
               "g.cfg:2: name: invalid byte 0xc3 in \"caf\xc3\xa9\" (allowed: A-Z a-z 0-9 _ . -)");
    EXPECT_ERR("kernel = \"k\"\nname = 5\n", -PL_EINVAL, "g.cfg:2: name: expected a quoted string");
    EXPECT_ERR("kernel = \"k\"\nname = [ \"a\" ]\n", -PL_EINVAL, "g.cfg:2: name: expected a quoted string");
}

static void test_string_syntax(void **state)
{
    (void)state;
    struct domcfg c;
    EXPECT_OK(BASE "cmdline = \"\"\n", &c);
    assert_string_equal(c.cmdline, "");
    assert_true(c.set & DOMCFG_HAS(DOMCFG_KEY_CMDLINE));
    EXPECT_OK(BASE "cmdline = \"a\\\\\"\n", &c);
    assert_string_equal(c.cmdline, "a\\");
    EXPECT_OK(BASE "cmdline = \"\\\"q\\\"\"\n", &c);
    assert_string_equal(c.cmdline, "\"q\"");
    EXPECT_ERR(BASE "cmdline = \"abc\n", -PL_EINVAL, "g.cfg:3: cmdline: unterminated string");
    EXPECT_ERR(BASE "cmdline = \"abc\\\"\n", -PL_EINVAL, "g.cfg:3: cmdline: unterminated string");
    EXPECT_ERR(BASE "cmdline = \"abc\\\n", -PL_EINVAL, "g.cfg:3: cmdline: unterminated string");
    EXPECT_ERR(BASE "cmdline = \"a\\nb\"\n", -PL_EINVAL,
               "g.cfg:3: cmdline: unknown escape '\\n' (only \\\" and \\\\)");
    EXPECT_ERR(BASE "cmdline = \"a\tb\"\n", -PL_EINVAL, "g.cfg:3: cmdline: control character 0x09 in a string");
    EXPECT_ERR(BASE "cmdline = \"a\x7f\"\n", -PL_EINVAL, "g.cfg:3: cmdline: control character 0x7f in a string");
    /* A string cannot continue on the next line. */
    EXPECT_ERR(BASE "cmdline = \"a\nb\"\n", -PL_EINVAL, "g.cfg:3: cmdline: unterminated string");
}

static void test_cpus(void **state)
{
    (void)state;
    struct domcfg c;
    EXPECT_OK(BASE "cpus = \"0-63\"\n", &c);
    assert_int_equal(c.cpus, UINT64_MAX);
    EXPECT_OK(BASE "cpus = \"5\"\n", &c);
    assert_int_equal(c.cpus, 1ull << 5);
    EXPECT_OK(BASE "cpus = \"2-2,0,0\"\n", &c);
    assert_int_equal(c.cpus, 0x5);
    EXPECT_OK(BASE "cpus = [ \"0-1\", \"4\",\n  \"63\", ]\n", &c);
    assert_int_equal(c.cpus, 0x8000000000000013ull);
    EXPECT_ERR(BASE "cpus = \"64\"\n", -PL_EINVAL, "g.cfg:3: cpus: CPU 64 is outside 0..63");
    EXPECT_ERR(BASE "cpus = \"0-64\"\n", -PL_EINVAL, "g.cfg:3: cpus: CPU 64 is outside 0..63");
    EXPECT_ERR(BASE "cpus = \"99999999999999999999\"\n", -PL_EINVAL,
               "g.cfg:3: cpus: CPU 99999999999999999999 is outside 0..63");
    EXPECT_ERR(BASE "cpus = \"3-1\"\n", -PL_EINVAL, "g.cfg:3: cpus: CPU range 3-1 is backwards");
    EXPECT_ERR(BASE "cpus = \"\"\n", -PL_EINVAL, "g.cfg:3: cpus: empty CPU list");
    EXPECT_ERR(BASE "cpus = []\n", -PL_EINVAL, "g.cfg:3: cpus: empty list");
    EXPECT_ERR(BASE "cpus = 3\n", -PL_EINVAL,
               "g.cfg:3: cpus: expected a quoted string or a list [ \"...\", ... ]");
    static const char *const bad[] = { "0,", ",0", "1-", "-1", "0-1-2", "0 ,1", "a", "0x1", "1,,2" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[128], msg[160];
        snprintf(text, sizeof(text), BASE "cpus = \"%s\"\n", bad[i]);
        snprintf(msg, sizeof(msg), "g.cfg:3: cpus: invalid CPU list \"%s\" (expected e.g. \"0-3,6\")", bad[i]);
        EXPECT_ERR(text, -PL_EINVAL, msg);
    }
    EXPECT_ERR(BASE "cpus = [ \"0\",\n\"70\" ]\n", -PL_EINVAL, "g.cfg:4: cpus: CPU 70 is outside 0..63");
}

static void test_lists(void **state)
{
    (void)state;
    struct domcfg c;
    EXPECT_OK(BASE "disk = [ # open\n \"a:b,c,r\" # one\n , # comma\n \"d:e,f,w\" , ] # done\n", &c);
    assert_int_equal(c.disk_count, 2);
    assert_string_equal(c.disks[1], "d:e,f,w");
    EXPECT_OK(BASE "disk=[\"a:b,c,r\"]\n", &c);
    assert_int_equal(c.disk_count, 1);
    EXPECT_ERR(BASE "disk = [ \"a:b,c,r\" \"d:e,f,w\" ]\n", -PL_EINVAL,
               "g.cfg:3: disk: expected ',' or ']' after a list entry");
    EXPECT_ERR(BASE "disk = [ , ]\n", -PL_EINVAL,
               "g.cfg:3: disk: expected a quoted string or ']' in the list opened on line 3");
    EXPECT_ERR(BASE "disk = [ \"a:b,c,r\",, ]\n", -PL_EINVAL,
               "g.cfg:3: disk: expected a quoted string or ']' in the list opened on line 3");
    EXPECT_ERR(BASE "disk = [ phy:a,b,w ]\n", -PL_EINVAL,
               "g.cfg:3: disk: expected a quoted string or ']' in the list opened on line 3");
    EXPECT_ERR(BASE "disk = \"a:b,c,r\"\n", -PL_EINVAL, "g.cfg:3: disk: expected a list [ \"...\", ... ]");
    EXPECT_ERR(BASE "vif = ]\n", -PL_EINVAL, "g.cfg:3: vif: expected a list [ \"...\", ... ]");
    /* Unterminated at the end of the input: reported on the last line. */
    EXPECT_ERR("name = \"g\"\n"          /* 1 */
               "kernel = \"k\"\n"        /* 2 */
               "\n\n\n\n\n\n"            /* 3-8 */
               "disk = [\n"              /* 9 */
               "  \"a:b,c,r\",\n"        /* 10 */
               "  \"d:e,f,w\",\n"        /* 11 */
               "  # end\n",              /* 12 */
               -PL_EINVAL, "g.cfg:12: disk: unterminated list (opened on line 9)");
    EXPECT_ERR(BASE "vif = [", -PL_EINVAL, "g.cfg:3: vif: unterminated list (opened on line 3)");
    /* ... or where the next setting starts. */
    EXPECT_ERR(BASE "disk = [ \"a:b,c,r\",\nmemory = 64\n]\n", -PL_EINVAL,
               "g.cfg:4: disk: unterminated list (opened on line 3)");
    EXPECT_ERR(BASE "disk = [ \"a:b,c,r\"\n  memory=64\n", -PL_EINVAL,
               "g.cfg:4: disk: unterminated list (opened on line 3)");
}

static void test_disk(void **state)
{
    (void)state;
    struct domcfg c;
    char text[1024];
    int n = snprintf(text, sizeof(text), BASE "disk = [\n");
    for (int i = 0; i < 8; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "\"phy:ata0p%d,xvd%c,r\",\n", i, 'a' + i);
    snprintf(text + n, sizeof(text) - (size_t)n, "]\n");
    EXPECT_OK(text, &c);
    assert_int_equal(c.disk_count, 8);
    assert_string_equal(c.disks[7], "phy:ata0p7,xvdh,r");
    snprintf(text + n, sizeof(text) - (size_t)n, "\"phy:x,y,w\"\n]\n");
    EXPECT_ERR(text, -PL_ENOSPC, "g.cfg:12: disk: more than 8 entries");

    static const char *const shape[] = { "phy", "phy:", "phy:a", "phy:a,b", ":a,b,w", "phy:,b,w", "phy:a,,w",
                                         "phy:a,b,", "phy:a,b,w,x", "p,h:a,b,w", "" };
    for (size_t i = 0; i < sizeof(shape) / sizeof(shape[0]); i++) {
        char t[128], msg[160];
        snprintf(t, sizeof(t), BASE "disk = [ \"%s\" ]\n", shape[i]);
        snprintf(msg, sizeof(msg), "g.cfg:3: disk: \"%s\" is not backend:target,vdev,mode", shape[i]);
        EXPECT_ERR(t, -PL_EINVAL, msg);
    }
    EXPECT_ERR(BASE "disk = [ \"phy:a,b,rw\" ]\n", -PL_EINVAL,
               "g.cfg:3: disk: mode \"rw\" in \"phy:a,b,rw\" is not r or w");
    EXPECT_ERR(BASE "disk = [ \"phy:a,b,x\" ]\n", -PL_EINVAL,
               "g.cfg:3: disk: mode \"x\" in \"phy:a,b,x\" is not r or w");
}

static void test_console(void **state)
{
    (void)state;
    struct domcfg c;
    EXPECT_OK(BASE "console = \"virtio\"\n", &c);
    assert_int_equal(c.console, DOMCFG_CONSOLE_VIRTIO);
    assert_true(c.set & DOMCFG_HAS(DOMCFG_KEY_CONSOLE));
    EXPECT_OK(BASE "console = \"none\" # the 16550 only\n", &c);
    assert_int_equal(c.console, DOMCFG_CONSOLE_NONE);
    assert_true(c.set & DOMCFG_HAS(DOMCFG_KEY_CONSOLE));
    assert_string_equal(domcfg_key_name(DOMCFG_KEY_CONSOLE), "console");
    EXPECT_ERR(BASE "console = \"hvc\"\n", -PL_EINVAL, "g.cfg:3: console: \"hvc\" is not \"virtio\" or \"none\"");
    EXPECT_ERR(BASE "console = \"Virtio\"\n", -PL_EINVAL,
               "g.cfg:3: console: \"Virtio\" is not \"virtio\" or \"none\"");
    EXPECT_ERR(BASE "console = \"virtio \"\n", -PL_EINVAL,
               "g.cfg:3: console: \"virtio \" is not \"virtio\" or \"none\"");
    EXPECT_ERR(BASE "console = \"\"\n", -PL_EINVAL, "g.cfg:3: console: empty string");
    EXPECT_ERR(BASE "console = \"virtio-console-device\"\n", -PL_E2BIG,
               "g.cfg:3: console: 21 characters, at most 15 allowed");
    EXPECT_ERR(BASE "console = virtio\n", -PL_EINVAL, "g.cfg:3: console: expected a quoted string");
    EXPECT_ERR(BASE "console = [ \"virtio\" ]\n", -PL_EINVAL, "g.cfg:3: console: expected a quoted string");
    EXPECT_ERR(BASE "console = \"virtio\"\nconsole = \"none\"\n", -PL_EINVAL,
               "g.cfg:4: console: duplicate key (first set on line 3)");
}

static void test_vif(void **state)
{
    (void)state;
    struct domcfg c;
    EXPECT_OK(BASE "vif = [ \"vlan=4094,mac=fe:ff:ff:ff:ff:ff,bridge=b\", \"mac=00:00:00:00:00:00,bridge="
                   "abcdefghijklmno,vlan=1\" ]\n",
              &c);
    assert_int_equal(c.vif_count, 2);
    assert_int_equal(c.vifs[0].vlan, 4094);
    assert_int_equal(c.vifs[0].mac[0], 0xfe);
    assert_int_equal(c.vifs[0].mac[5], 0xff);
    assert_string_equal(c.vifs[0].bridge, "b");
    assert_int_equal(c.vifs[1].vlan, 1);
    assert_string_equal(c.vifs[1].bridge, "abcdefghijklmno");

    EXPECT_ERR(BASE "vif = [ \"mac=00:16:3e:00:00,bridge=b\" ]\n", -PL_EINVAL,
               "g.cfg:3: vif: invalid mac \"00:16:3e:00:00\" (expected six hex pairs like 00:16:3e:00:00:01)");
    EXPECT_ERR(BASE "vif = [ \"mac=00:16:3e:00:00:0g,bridge=b\" ]\n", -PL_EINVAL,
               "g.cfg:3: vif: invalid mac \"00:16:3e:00:00:0g\" (expected six hex pairs like 00:16:3e:00:00:01)");
    EXPECT_ERR(BASE "vif = [ \"mac=00-16-3e-00-00-01,bridge=b\" ]\n", -PL_EINVAL,
               "g.cfg:3: vif: invalid mac \"00-16-3e-00-00-01\" (expected six hex pairs like 00:16:3e:00:00:01)");
    EXPECT_ERR(BASE "vif = [ \"mac=00:16:3e:00:00:01,bridge=b,vlan=0\" ]\n", -PL_EINVAL,
               "g.cfg:3: vif: vlan 0 is outside 1..4094");
    EXPECT_ERR(BASE "vif = [ \"mac=00:16:3e:00:00:01,bridge=b,vlan=4095\" ]\n", -PL_EINVAL,
               "g.cfg:3: vif: vlan 4095 is outside 1..4094");
    EXPECT_ERR(BASE "vif = [ \"mac=00:16:3e:00:00:01,bridge=b,vlan=ten\" ]\n", -PL_EINVAL,
               "g.cfg:3: vif: vlan \"ten\" is not an integer");
    EXPECT_ERR(BASE "vif = [ \"mac=00:16:3e:00:00:01,bridge=b,ip=1.2.3.4\" ]\n", -PL_EINVAL,
               "g.cfg:3: vif: unknown setting \"ip\" in \"mac=00:16:3e:00:00:01,bridge=b,ip=1.2.3.4\" "
               "(expected mac, bridge, vlan)");
    EXPECT_ERR(BASE "vif = [ \"mac=00:16:3e:00:00:01\" ]\n", -PL_EINVAL,
               "g.cfg:3: vif: no bridge= in \"mac=00:16:3e:00:00:01\"");
    EXPECT_ERR(BASE "vif = [ \"bridge=b\" ]\n", -PL_EINVAL, "g.cfg:3: vif: no mac= in \"bridge=b\"");
    EXPECT_ERR(BASE "vif = [ \"bridge=b,bridge=c,mac=00:16:3e:00:00:01\" ]\n", -PL_EINVAL,
               "g.cfg:3: vif: bridge given twice in \"bridge=b,bridge=c,mac=00:16:3e:00:00:01\"");
    EXPECT_ERR(BASE "vif = [ \"bridge=b,,mac=00:16:3e:00:00:01\" ]\n", -PL_EINVAL,
               "g.cfg:3: vif: expected setting=value, got \"\" in \"bridge=b,,mac=00:16:3e:00:00:01\"");
    EXPECT_ERR(BASE "vif = [ \"\" ]\n", -PL_EINVAL, "g.cfg:3: vif: expected setting=value, got \"\" in \"\"");
    EXPECT_ERR(BASE "vif = [ \"mac=00:16:3e:00:00:01,bridge=\" ]\n", -PL_EINVAL,
               "g.cfg:3: vif: empty bridge in \"mac=00:16:3e:00:00:01,bridge=\"");
    EXPECT_ERR(BASE "vif = [ \"mac=00:16:3e:00:00:01,bridge=abcdefghijklmnop\" ]\n", -PL_E2BIG,
               "g.cfg:3: vif: bridge \"abcdefghijklmnop\" is longer than 15 characters");
    EXPECT_ERR(BASE "vif = [ \"mac=00:16:3e:00:00:01,bridge=a b\" ]\n", -PL_EINVAL,
               "g.cfg:3: vif: invalid bridge \"a b\" (allowed: A-Z a-z 0-9 _ . -)");

    char text[1024];
    int n = snprintf(text, sizeof(text), BASE "vif = [\n");
    for (int i = 0; i < 8; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "\"mac=00:16:3e:00:00:%02x,bridge=br%d\",\n", i, i);
    snprintf(text + n, sizeof(text) - (size_t)n, "]\n");
    EXPECT_OK(text, &c);
    assert_int_equal(c.vif_count, 8);
    assert_int_equal(c.vifs[7].mac[5], 7);
    assert_string_equal(c.vifs[7].bridge, "br7");
    snprintf(text + n, sizeof(text) - (size_t)n, "\"mac=00:16:3e:00:00:08,bridge=b\" ]\n");
    EXPECT_ERR(text, -PL_ENOSPC, "g.cfg:12: vif: more than 8 entries");
}

static void test_line_length(void **state)
{
    (void)state;
    struct domcfg c;
    char text[600], line[300];
    /* cmdline = "aaa...": 11 bytes + n + 1 closing quote. */
    memset(line, 'a', sizeof(line));
    snprintf(text, sizeof(text), BASE "cmdline = \"%.*s\"\n", 255 - 12, line);
    assert_int_equal(strlen(text) - strlen(BASE), 256);
    EXPECT_OK(text, &c);
    assert_int_equal(strlen(c.cmdline), 243);
    snprintf(text, sizeof(text), BASE "cmdline = \"%.*s\"\r\n", 255 - 12, line); /* CR does not count */
    EXPECT_OK(text, &c);
    assert_int_equal(strlen(c.cmdline), 243);
    snprintf(text, sizeof(text), BASE "cmdline = \"%.*s\"", 255 - 12, line); /* no final newline */
    EXPECT_OK(text, &c);
    snprintf(text, sizeof(text), BASE "cmdline = \"%.*s\"\n", 256 - 12, line);
    EXPECT_ERR(text, -PL_E2BIG, "g.cfg:3: cmdline: line is longer than 255 bytes");
    snprintf(text, sizeof(text), BASE "cmdline = \"%.*s\"", 256 - 12, line);
    EXPECT_ERR(text, -PL_E2BIG, "g.cfg:3: cmdline: line is longer than 255 bytes");
    /* A long comment, and a long line inside a list, are errors too. */
    snprintf(text, sizeof(text), BASE "#%.*s\n", 255, line);
    EXPECT_ERR(text, -PL_E2BIG, "g.cfg:3: line is longer than 255 bytes");
    snprintf(text, sizeof(text), BASE "#%.*s\n", 254, line);
    EXPECT_OK(text, &c);
    snprintf(text, sizeof(text), BASE "disk = [\n  \"a:b,c,r\", # %.*s\n]\n", 250, line);
    EXPECT_ERR(text, -PL_E2BIG, "g.cfg:4: disk: line is longer than 255 bytes");
}

static void test_nul_bytes(void **state)
{
    (void)state;
    struct domcfg c;
    char err[ERRLEN];
    static const char in_string[] = BASE "cmdline = \"a\0b\"\n";
    assert_int_equal(parse_n(in_string, sizeof(in_string) - 1, &c, err), -PL_EINVAL);
    assert_string_equal(err, "g.cfg:3: cmdline: NUL byte in column 13");
    static const char in_comment[] = BASE "# x\0y\nmemory = 8\n";
    assert_int_equal(parse_n(in_comment, sizeof(in_comment) - 1, &c, err), -PL_EINVAL);
    assert_string_equal(err, "g.cfg:3: NUL byte in column 4");
    static const char at_end[] = BASE "\0";
    assert_int_equal(parse_n(at_end, sizeof(at_end) - 1, &c, err), -PL_EINVAL);
    assert_string_equal(err, "g.cfg:3: NUL byte in column 1");
    static const char first[] = "\0" BASE;
    assert_int_equal(parse_n(first, sizeof(first) - 1, &c, err), -PL_EINVAL);
    assert_string_equal(err, "g.cfg:1: NUL byte in column 1");
    static const char in_list[] = BASE "vif = [\n\"\0\"\n]\n";
    assert_int_equal(parse_n(in_list, sizeof(in_list) - 1, &c, err), -PL_EINVAL);
    assert_string_equal(err, "g.cfg:4: vif: NUL byte in column 2");
    /* The length, not a NUL, ends the input: bytes after len are not read. */
    static const char longer[] = BASE "memory = 64\n!!!";
    assert_int_equal(parse_n(longer, sizeof(longer) - 4, &c, err), 0);
    assert_int_equal(c.memory_mib, 64);
}

static void test_api_edges(void **state)
{
    (void)state;
    struct domcfg c;
    char err[16];
    const char *text = BASE "memory = 4096\n";
    memset(err, 'X', sizeof(err));
    assert_int_equal(domcfg_parse("guest1.cfg", text, strlen(text), &c, err, sizeof(err)), -PL_EINVAL);
    assert_string_equal(err, "guest1.cfg:3: m"); /* truncated, NUL-terminated */
    assert_int_equal(domcfg_parse("guest1.cfg", text, strlen(text), &c, NULL, 0), -PL_EINVAL);
    assert_int_equal(domcfg_parse("guest1.cfg", text, strlen(text), &c, err, 0), -PL_EINVAL);
    assert_int_equal(err[0], 'g'); /* errlen 0: untouched */
    char big[ERRLEN];
    assert_int_equal(domcfg_parse(NULL, text, strlen(text), &c, big, sizeof(big)), -PL_EINVAL);
    assert_string_equal(big, "<config>:3: memory: 4096 is outside 4..1024 MiB");
    assert_int_equal(domcfg_parse("g.cfg", text, strlen(text), NULL, big, sizeof(big)), -PL_EINVAL);
    assert_string_equal(big, "g.cfg: no output");
    assert_int_equal(domcfg_parse("g.cfg", NULL, 5, &c, big, sizeof(big)), -PL_EINVAL);
    assert_string_equal(big, "g.cfg: no text");
    assert_int_equal(domcfg_parse("g.cfg", NULL, 0, &c, big, sizeof(big)), -PL_EINVAL);
    assert_string_equal(big, "g.cfg: missing required key 'name'");
}

/* Every error message starts with "g.cfg:" and the return code is one of the
 * documented ones; success leaves an empty message and the required keys. */
static void check_outcome(int rc, const struct domcfg *c, const char *err)
{
    if (rc == 0) {
        assert_string_equal(err, "");
        assert_true(c->set & DOMCFG_HAS(DOMCFG_KEY_NAME));
        assert_true(c->set & DOMCFG_HAS(DOMCFG_KEY_KERNEL));
        assert_true(c->name[0] != '\0');
        return;
    }
    assert_true(rc == -PL_EINVAL || rc == -PL_E2BIG || rc == -PL_ENOSPC);
    assert_int_equal(strncmp(err, "g.cfg", 5), 0);
    assert_true(strlen(err) < ERRLEN);
}

static void test_truncated_everywhere(void **state)
{
    (void)state;
    size_t len = strlen(full_config);
    unsigned ok = 0, unterminated = 0;
    for (size_t n = 0; n <= len; n++) {
        struct domcfg c;
        char err[ERRLEN];
        int rc = parse_n(full_config, n, &c, err);
        check_outcome(rc, &c, err);
        ok += rc == 0;
        unterminated += strstr(err, "disk: unterminated list (opened on line 13)") != NULL;
    }
    /* Successes: cuts anywhere after line 6 at the end of a complete setting
     * (including inside its trailing comment) outside the disk list, and
     * anywhere in line 19's comment, and line 20 complete with or without
     * its newline. Counted for this exact config. */
    assert_int_equal(ok, 44);
    /* Cuts after line 13's '[' and before line 18's ']', outside strings. */
    assert_int_equal(unterminated, 58);
    struct domcfg c;
    char err[ERRLEN];
    assert_int_equal(parse_n(full_config, len, &c, err), 0);
    check_full(&c);
    /* Cut inside the last string: an unterminated string on line 19. */
    const char *cut = strstr(full_config, "bridge=br-1");
    assert_int_equal(parse_n(full_config, (size_t)(cut - full_config), &c, err), -PL_EINVAL);
    assert_string_equal(err, "g.cfg:19: vif: unterminated string");
}

/* Overwrite each byte with bytes that matter to the syntax: never a crash,
 * an out-of-bounds read (ASan) or an undocumented result. */
static void test_mutated_everywhere(void **state)
{
    (void)state;
    static const char subst[] = { '"', '[', ']', ',', '\\', '\n', '\r', '\0', '#', '=', ' ', '-', ':', 'x', '9' };
    size_t len = strlen(full_config);
    char *buf = malloc(len);
    assert_non_null(buf);
    unsigned failures = 0;
    for (size_t i = 0; i < len; i++) {
        for (size_t s = 0; s < sizeof(subst); s++) {
            memcpy(buf, full_config, len);
            buf[i] = subst[s];
            struct domcfg c;
            char err[ERRLEN];
            int rc = parse_n(buf, len, &c, err);
            check_outcome(rc, &c, err);
            failures += rc != 0;
        }
    }
    free(buf);
    assert_true(failures > len); /* most mutations are errors */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_crlf_and_no_final_newline),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_memory_bounds),
        cmocka_unit_test(test_other_int_bounds),
        cmocka_unit_test(test_integer_syntax),
        cmocka_unit_test(test_unknown_and_duplicate_keys),
        cmocka_unit_test(test_trailing_junk),
        cmocka_unit_test(test_name_bounds),
        cmocka_unit_test(test_string_syntax),
        cmocka_unit_test(test_cpus),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_disk),
        cmocka_unit_test(test_vif),
        cmocka_unit_test(test_console),
        cmocka_unit_test(test_line_length),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_api_edges),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_mutated_everywhere),
    };
    return cmocka_run_group_tests_name("domcfg", tests, NULL, NULL);
}
