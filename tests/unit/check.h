/* A minimal unit-test harness: one file per module, each test a function.
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_STR(s, "abc"); }
 *   int main(void) { RUN(test_something); return check_report("sse"); }
 *
 * A test passes when none of its checks failed.  check_report() prints
 * "<suite>: N passed, M failed" (the line tests/run.sh adds up) and returns the exit code.
 */
#ifndef AMI_TEST_CHECK_H
#define AMI_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_test_failed;
static int check_passed_count;
static int check_failed_count;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);             \
            check_test_failed = 1;                                                                 \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        if (check_a_ != check_b_) {                                                                \
            fprintf(stderr, "  %s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a,        \
                    check_a_, check_b_);                                                           \
            check_test_failed = 1;                                                                 \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                           \
            fprintf(stderr, "  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,    \
                    check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");               \
            check_test_failed = 1;                                                                 \
        }                                                                                          \
    } while (0)

#define CHECK_MEM(a, alen, b, blen)                                                                \
    do {                                                                                           \
        size_t check_al_ = (alen), check_bl_ = (blen);                                             \
        if (check_al_ != check_bl_ || memcmp((a), (b), check_al_) != 0) {                          \
            fprintf(stderr, "  %s:%d: %s (%zu bytes) differs from %s (%zu bytes)\n", __FILE__,     \
                    __LINE__, #a, check_al_, #b, check_bl_);                                       \
            check_test_failed = 1;                                                                 \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        check_test_failed = 0;                                                                     \
        fn();                                                                                      \
        if (check_test_failed) {                                                                   \
            check_failed_count++;                                                                  \
            fprintf(stderr, "FAIL %s\n", #fn);                                                     \
        } else {                                                                                   \
            check_passed_count++;                                                                  \
        }                                                                                          \
    } while (0)

static inline int check_report(const char *suite) {
    printf("%s: %d passed, %d failed\n", suite, check_passed_count, check_failed_count);
    return check_failed_count ? 1 : 0;
}

#endif
