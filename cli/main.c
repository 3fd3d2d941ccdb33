/*
 * main.c - the `vkattn` program: subcommand dispatch, usage, error reporting and the logger.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* The prefix the library puts on validation-layer messages (see vkattn_log_fn). */
#define CLI_VALIDATION_PREFIX "validation: "

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
} cli_command;

static const cli_command cli_commands[] = {
    {"bench", cli_cmd_bench},
    {"devices", cli_cmd_devices},
    {"run", cli_cmd_run},
    {"verify", cli_cmd_verify},
};

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vkattn: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_EXIT_ERROR;
}

int cli_library_error(const vkattn_context *ctx, vkattn_result r)
{
    const char *detail = vkattn_context_last_error(ctx);
    if (!detail || !detail[0])
        detail = vkattn_result_str(r);
    return cli_error("%s [%s]", detail, vkattn_result_name(r));
}

/*
 * The library reports every failure it returns at ERROR as well; those reach the user once, through
 * cli_library_error, so the logger skips them. Warnings, and validation-layer messages of either level (which
 * never come with a failed call), are printed as they arrive, so that a run with VKATTN_VALIDATION=1 shows them.
 */
static void cli_log(void *user, vkattn_log_level level, const char *msg)
{
    (void)user;
    bool validation = strncmp(msg, CLI_VALIDATION_PREFIX, strlen(CLI_VALIDATION_PREFIX)) == 0;
    if (level == VKATTN_LOG_WARN)
        fprintf(stderr, "vkattn: warning: %s\n", msg);
    else if (level == VKATTN_LOG_ERROR && validation)
        fprintf(stderr, "vkattn: error: %s\n", msg);
}

vkattn_context_desc cli_context_desc(vkattn_backend backend, const char *device)
{
    vkattn_context_desc desc = {
        .backend = backend,
        .device = device,
        .log = cli_log,
        .log_level = VKATTN_LOG_WARN,
    };
    return desc;
}

static void cli_usage(FILE *out)
{
    fputs("usage: vkattn <command> [options]\n"
          "\n"
          "commands:\n"
          "  bench [options]      time every op and the attention layer per positional encoding\n"
          "  devices              list the Vulkan devices and the CPU backend\n"
          "  run <op> [options]   run one op on .npy files\n"
          "  verify [options]     check every op on the device against the CPU backend\n"
          "\n"
          "options:\n"
          "  -h, --help           show this text\n"
          "  --version            print the library version\n"
          "\n",
          out);
    cli_run_usage(out);
    fputc('\n', out);
    cli_bench_usage(out);
    fputc('\n', out);
    cli_verify_usage(out);
    fputs("\n"
          "Options take their value as the next argument or after '=' (--x=in.npy).\n"
          "Exit status: 0 on success, 2 on any error (one line on stderr).\n",
          out);
}

static int cli_version(void)
{
    uint32_t v = vkattn_version();
    printf("%u.%u.%u\n", (unsigned)(v / 10000), (unsigned)(v / 100 % 100), (unsigned)(v % 100));
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_error("no command given (try 'vkattn --help')");
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
        cli_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0)
        return argc == 2 ? cli_version() : cli_error("--version takes no arguments");
    for (size_t i = 0; i < sizeof(cli_commands) / sizeof(cli_commands[0]); i++) {
        if (strcmp(name, cli_commands[i].name) == 0)
            return cli_commands[i].run(argc - 1, argv + 1);
    }
    if (name[0] == '-')
        return cli_error("unknown option '%s' (try 'vkattn --help')", name);
    return cli_error("unknown command '%s' (try 'vkattn --help')", name);
}
