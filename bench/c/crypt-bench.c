/*
 * Reference for bench/src/benches/sha512crypt.ts: time libxcrypt's crypt_r.
 *   cc -O2 -o crypt-bench crypt-bench.c -lcrypt
 *   crypt-bench SETTING ITERATIONS < password
 * Reads the password from stdin (no trailing newline is stripped, pass it with printf '%s').
 * Prints the resulting hash on line 1, the mean wall-clock nanoseconds per crypt_r call on line 2
 * and the mean CPU nanoseconds (CLOCK_PROCESS_CPUTIME_ID) on line 3.
 */
#define _GNU_SOURCE
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s SETTING ITERATIONS < password\n", argv[0]);
    return 2;
  }
  const char *setting = argv[1];
  long iterations = strtol(argv[2], NULL, 10);
  if (iterations < 1) iterations = 1;

  static char password[CRYPT_MAX_PASSPHRASE_SIZE];
  size_t n = fread(password, 1, sizeof password - 1, stdin);
  password[n] = '\0';

  struct crypt_data *data = calloc(1, sizeof *data);
  if (!data) return 1;

  /* Warm-up (page faults, CPU frequency ramp). */
  const char *out = crypt_r(password, setting, data);
  if (!out || out[0] == '*') {
    fprintf(stderr, "crypt_r failed for setting %s\n", setting);
    return 1;
  }
  char result[CRYPT_OUTPUT_SIZE];
  snprintf(result, sizeof result, "%s", out);

  double t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  for (long i = 0; i < iterations; i++) {
    out = crypt_r(password, setting, data);
    if (!out || strcmp(out, result) != 0) return 1;
  }
  double t1 = now_ns(CLOCK_MONOTONIC), c1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);

  printf("%s\n%.0f\n%.0f\n", result, (t1 - t0) / (double)iterations, (c1 - c0) / (double)iterations);
  explicit_bzero(password, sizeof password);
  explicit_bzero(data, sizeof *data);
  free(data);
  return 0;
}
