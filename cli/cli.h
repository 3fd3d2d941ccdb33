/*
 * cli.h - what the parts of the `vkattn` program share (main.c, cmd_devices.c, cmd_run.c).
 *
 * The program uses only the public header, as an embedding application would. Every failure prints exactly one
 * line "vkattn: error: <message>" on stderr and exits with CLI_EXIT_ERROR; success prints nothing on stderr.
 */
#ifndef VKATTN_CLI_H
#define VKATTN_CLI_H

#include <stdio.h>

#include "vkattn.h"

#if defined(__GNUC__) || defined(__clang__)
#  define CLI_PRINTF(fmt_idx, args_idx) __attribute__((format(printf, fmt_idx, args_idx)))
#else
#  define CLI_PRINTF(fmt_idx, args_idx)
#endif

#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 2

/* Prints "vkattn: error: <message>" on stderr and returns CLI_EXIT_ERROR. */
int cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
/* Reports a failed library call: the context's detailed message (ctx NULL: this thread's, as after a failed
 * vkattn_context_create) and the result name. Returns CLI_EXIT_ERROR. */
int cli_library_error(const vkattn_context *ctx, vkattn_result r);

/* A context desc with the program's logger installed, for the given backend and device selector. */
vkattn_context_desc cli_context_desc(vkattn_backend backend, const char *device);

/* Subcommands: argv[0] is the subcommand's name. They return the process exit status. */
int cli_cmd_devices(int argc, char **argv);
int cli_cmd_run(int argc, char **argv);
/* The `run` part of the usage text. */
void cli_run_usage(FILE *out);
/* `vkattn verify`: every op on the device against the CPU backend; exit 1 when a case fails. */
int cli_cmd_verify(int argc, char **argv);
/* The `verify` part of the usage text. */
void cli_verify_usage(FILE *out);
/* `vkattn bench`: timings of every op, attention and the layer per positional encoding. */
int cli_cmd_bench(int argc, char **argv);
/* The `bench` part of the usage text. */
void cli_bench_usage(FILE *out);

#endif /* VKATTN_CLI_H */
