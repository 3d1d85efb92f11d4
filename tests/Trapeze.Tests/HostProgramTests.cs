using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>
/// Real programs from this machine (dynamically linked against its glibc, or busybox-static) run
/// natively and under `trapeze run` with the same arguments, environment and working directory:
/// stdout, stderr and the exit code must match. Each case is one line of <see cref="Cases"/>.
/// </summary>
public sealed class HostProgramTests
{
    private static readonly string Data = Path.Combine(Runner.Root, "tests", "cases", "data");

    /// <summary>
    /// name, VAR=VALUE settings (optional), then the command line; "$DATA" stands for tests/cases/data,
    /// "$SCRATCH" for an empty directory of each run's own.
    /// </summary>
    private static readonly string[][] CommandLines =
    [
        ["true", "/bin/true"],
        ["false", "/bin/false"],
        ["echo", "/bin/echo", "hello", "from", "trapeze"],
        ["ld.so-directly", "/lib64/ld-linux-x86-64.so.2", "/bin/echo", "run", "by", "the", "interpreter"],
        ["ld.so-list", "/lib64/ld-linux-x86-64.so.2", "--list", "/bin/ls"],
        ["ls-la-etc", "/bin/ls", "-la", "/etc"],
        ["ls-data", "/bin/ls", "-l", "--time-style=+%s", "-i", "$DATA"],
        ["cat", "/bin/cat", "$DATA/words.txt", "$DATA/sample.json"],
        ["cat-missing", "/bin/cat", "$DATA/no-such-file"],
        ["sort", "/usr/bin/sort", "$DATA/words.txt"],
        ["sort-numeric-unique", "/usr/bin/sort", "-n", "-u", "-r", "$DATA/words.txt"],
        ["wc", "/usr/bin/wc", "$DATA/words.txt", "$DATA/sample.json"],
        ["sha256sum", "/usr/bin/sha256sum", "$DATA/words.txt", "/bin/true"],
        ["grep", "/bin/grep", "-n", "-i", "-E", "^(a|k)", "$DATA/words.txt"],
        ["grep-count", "/bin/grep", "-c", "e", "$DATA/words.txt"],
        ["grep-no-match", "/bin/grep", "nothing-matches-this", "$DATA/words.txt"],
        ["sed", "/bin/sed", "-n", "-e", "s/e/E/gp", "-e", "3q", "$DATA/words.txt"],
        ["awk", "/usr/bin/awk", "{ n += length($0); if ($0 ~ /^[0-9]+$/) s += $0 } END { print NR, n, s }", "$DATA/words.txt"],
        ["find", "/usr/bin/find", "/usr/share/doc", "-name", "copyright"],
        ["date-new-york", "/bin/date", "-d", "@1700000000", "+%F %T %Z %z"],
        ["date-tokyo", "TZ=Asia/Tokyo", "/bin/date", "-d", "@1700000000"],
        ["sort-utf8-locale", "LC_ALL=C.UTF-8", "/usr/bin/sort", "$DATA/words.txt"],
        ["wc-utf8-characters", "LC_ALL=C.UTF-8", "/usr/bin/wc", "-m", "-c", "$DATA/words.txt"],
        ["grep-utf8-ignore-case", "LC_ALL=C.UTF-8", "/bin/grep", "-i", "ÜBER", "$DATA/words.txt"],
        ["python3-utf8", "LC_ALL=C.UTF-8", "/usr/bin/python3", "-c",
            "import locale, sys; print(sys.getfilesystemencoding(), locale.getpreferredencoding(), 'über'.upper(), len('über'.encode()))"],
        ["date-utc-parse", "/bin/date", "-u", "-d", "2024-02-29 12:34:56", "+%s %A %j"],
        ["python3-json-hashlib", "/usr/bin/python3", "-c",
            "import json, hashlib; print(json.dumps({'sha': hashlib.sha256(b'trapeze').hexdigest(), 'sum': sum(range(100))}, sort_keys=True))"],
        ["python3-json-tool", "/usr/bin/python3", "-m", "json.tool", "$DATA/sample.json"],
        ["python3-os", "/usr/bin/python3", "-c",
            "import os, sys; print(os.cpu_count(), sorted(os.listdir('/proc/self/fd')), os.readlink('/proc/self/exe'), sys.version_info[:2])"],
        ["perl", "/usr/bin/perl", "-e", "my %h = map { $_ => $_ * $_ } 1..10; print join(',', map { \"$_=$h{$_}\" } sort { $a <=> $b } keys %h), \"\\n\"; printf(\"%.3f\\n\", atan2(1, 1) * 4)"],
        ["perl-files", "/usr/bin/perl", "-ne", "print uc if /^[a-z]{4,5}$/", "$DATA/words.txt"],
        ["sqlite3", "/usr/bin/sqlite3", ":memory:", "select 1+1"],
        ["sqlite3-table", "/usr/bin/sqlite3", ":memory:",
            "create table t(x, y); insert into t values (1, 'a'), (2, 'b'), (3, 'c'); select sum(x), group_concat(y, '-') from t; select sqlite_version() is not null;"],
        ["sqlite3-file-wal", "/usr/bin/sqlite3", "$SCRATCH/test.db",
            "create table t(x integer primary key, y text); insert into t(y) values ('a'), ('b'); pragma journal_mode=wal; insert into t(y) values ('c'); select count(*), group_concat(y) from t; pragma integrity_check;"],
        ["bash-builtins", "/bin/bash", "-c",
            "for i in 1 2 3; do echo \"line $i\"; done; x=$((6 * 7)); echo $x; printf '%s-%05d\\n' a 42; [[ abc == a* ]] && echo match; declare -A m=([k]=v); echo ${m[k]}; echo ${#BASH_VERSION}"],
        ["bash-parent-pid", "/bin/bash", "-c", "echo $PPID"],
        ["xz-self-pipe", "/usr/bin/xz", "-c", "-9", "$DATA/words.txt"],
        ["bash-cd-proc", "/bin/bash", "-c",
            "cd /proc/self && pwd && read -r c < comm && echo $c && cd fd && pwd && cd ../../.. && pwd && pwd -P && cd /proc && read -r u < uptime && echo read && cd sys/kernel && read -r o < ostype && echo $o && pwd -P"],
        ["bash-exit-status", "/bin/bash", "-c", "exit 3"],
        ["readlink-proc-self-exe", "/bin/readlink", "/proc/self/exe"],
        ["cat-proc-self-cmdline", "/bin/cat", "/proc/self/cmdline"],
        ["cat-proc-self-comm", "/bin/cat", "/proc/self/comm"],
        ["nproc", "/usr/bin/nproc"],
        ["getconf-cpus", "/usr/bin/getconf", "_NPROCESSORS_ONLN"],
        ["busybox-echo", "/bin/busybox", "echo", "hello", "busybox"],
        ["busybox-sort", "/bin/busybox", "sort", "-r", "$DATA/words.txt"],
        ["busybox-wc", "/bin/busybox", "wc", "$DATA/words.txt"],
        ["busybox-sha256sum", "/bin/busybox", "sha256sum", "$DATA/words.txt"],
        ["busybox-sed", "/bin/busybox", "sed", "s/a/A/g", "$DATA/words.txt"],
        ["busybox-awk", "/bin/busybox", "awk", "{ print length($0), $0 }", "$DATA/words.txt"],
        ["busybox-ls", "/bin/busybox", "ls", "-la", "/etc"],
        ["busybox-sh", "/bin/busybox", "sh", "-c", "i=0; while [ $i -lt 3 ]; do echo $i; i=$((i + 1)); done; echo ${#i}"],
        ["busybox-date", "/bin/busybox", "date", "-d", "@1700000000"],
        // Processes: pipelines, command substitution, make, a compiler driver, subprocesses, threads.
        ["busybox-pipeline", "/bin/busybox", "sh", "-c", "for i in 1 2 3; do echo $i; done | busybox wc -l"],
        ["bash-pipeline-substitution", "/bin/bash", "-c", "ls /etc | sort | head -3; echo $(date -u -d @0 +%Y)"],
        ["make-three-rules", "/bin/bash", "-c",
            "cd $SCRATCH && printf 'all: c\\nc: a b\\n\\tcat a b > c\\na:\\n\\techo a > a\\nb:\\n\\techo b > b\\n' > Makefile && make && cat c"],
        ["gcc-hello", "/bin/bash", "-c",
            "cd $SCRATCH && printf '#include <stdio.h>\\nint main(void) { puts(\"hello from gcc\"); return 0; }\\n' > hello.c && gcc -o hello hello.c && ./hello"],
        ["python3-subprocess-threads-pool", "/usr/bin/python3", "-c",
            "import subprocess, threading, multiprocessing\n"
            + "def square(x): return x * x\n"
            + "if __name__ == '__main__':\n"
            + "    print(subprocess.run(['echo', 'from a child'], capture_output=True, text=True).stdout.strip())\n"
            + "    seen = []\n"
            + "    workers = [threading.Thread(target=seen.append, args=(i,)) for i in range(4)]\n"
            + "    [w.start() for w in workers]; [w.join() for w in workers]\n"
            + "    print(sorted(seen))\n"
            + "    with multiprocessing.Pool(2) as pool: print(pool.map(square, range(6)))\n"],
        ["git-init-add-commit", "GIT_CONFIG_NOSYSTEM=1", "HOME=/nonexistent", "GIT_AUTHOR_DATE=2020-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2020-01-01T00:00:00Z", "/bin/bash", "-c",
            "cd $SCRATCH && git init -q -b main r && cd r && echo hi > f && git add f && git -c user.name=T -c user.email=t@example.org commit -q -m first && git log --format='%H %s'"],
        ["xargs-parallel", "/bin/bash", "-c", "printf '%s\\n' 1 2 3 4 | xargs -P2 -n1 echo | sort"],
        ["find-exec", "/usr/bin/find", "$DATA", "-name", "*.txt", "-exec", "wc", "-l", "{}", ";"],
    ];

    /// <summary>Runs with $SCRATCH a fresh directory; the outputs show it as $SCRATCH.</summary>
    private static RunResult InScratch(string[] words, Func<string[], RunResult> run)
    {
        var scratch = Directory.CreateTempSubdirectory("trapeze-host-").FullName;
        try
        {
            var result = run(words.Select(word => word.Replace("$SCRATCH", scratch, StringComparison.Ordinal)).ToArray());
            return result with { Stdout = result.Stdout.Replace(scratch, "$SCRATCH"), Stderr = result.Stderr.Replace(scratch, "$SCRATCH") };
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static string WithoutAddresses(string text)
        => System.Text.RegularExpressions.Regex.Replace(text, @"\(0x[0-9a-f]+\)", "(ADDRESS)");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var line in CommandLines)
            data.Add(line[0]);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesNative(string name)
    {
        var line = CommandLines.Single(l => l[0] == name);
        // Outputs must not depend on the moment or the user's locale.
        var environment = new Dictionary<string, string?> { ["LC_ALL"] = "C", ["TZ"] = "America/New_York", ["LANG"] = null, ["LANGUAGE"] = null };
        var settings = line.Skip(1).TakeWhile(word => !word.StartsWith('/') && word.Contains('=')).ToList();
        foreach (var setting in settings)
            environment[setting[..setting.IndexOf('=')]] = setting[(setting.IndexOf('=') + 1)..];
        var program = line[1 + settings.Count];
        var words = line[(2 + settings.Count)..].Select(a => a.Replace("$DATA", Data, StringComparison.Ordinal)).ToArray();

        var native = InScratch(words, arguments => Runner.Run(program, arguments, environment: environment));
        // A compiler or a process pool under emulation on a loaded 2-core machine can take minutes; the timeout only catches hangs.
        var emulated = InScratch(words, arguments => Runner.Run(Runner.Trapeze, ["run", "--", program, .. arguments], environment: environment, timeoutSeconds: 240));

        // ld.so --list prints load addresses, which the host randomizes and Trapeze does not.
        Assert.Equal(WithoutAddresses(native.Stdout), WithoutAddresses(emulated.Stdout));
        Assert.Equal(native.Stderr, emulated.Stderr);
        Assert.Equal(native.ExitCode, emulated.ExitCode);
    }
}
