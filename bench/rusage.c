/* Runs a command and reports what it cost: one line
 *   "<exit code> <user µs> <system µs> <peak RSS KiB>"
 * from wait4(2) written to REPORT, then exits with the command's code.
 *
 *   rusage REPORT CMD [ARGS...]
 *
 * Why not measure from Python directly: a forked child starts with its parent's peak RSS as its
 * own (the high-water mark is copied with the address space and kept across execve), so a child
 * of a 25 MB Python never reports less than 25 MB. This launcher is small, so what it reports is
 * the command's own peak. CPU time counts the command and the children it waited for, not this
 * launcher. Built by bench/run with the system C compiler.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static long micros(struct timeval t) { return t.tv_sec * 1000000L + t.tv_usec; }

int main(int argc, char **argv) {
    if (argc < 3) {
        fputs("usage: rusage REPORT CMD [ARGS...]\n", stderr);
        return 2;
    }
    FILE *report = fopen(argv[1], "w");
    if (!report) {
        perror(argv[1]);
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("rusage: fork");
        return 127;
    }
    if (pid == 0) {
        fclose(report);
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    int status;
    struct rusage usage;
    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) {
            perror("rusage: wait4");
            return 127;
        }
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(report, "%d %ld %ld %ld\n", code, micros(usage.ru_utime), micros(usage.ru_stime),
            usage.ru_maxrss);
    fclose(report);
    return code;
}
