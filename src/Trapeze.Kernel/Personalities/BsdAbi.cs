using System.Buffers.Binary;
using Trapeze.Kernel.Abi.Bsd;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Personalities;

/// <summary>How an argument of a BSD call is spelled differently from Linux's.</summary>
internal enum BsdArgument : byte
{
    OpenFlags,
    MapFlags,
    Signal,
    Clock,
    DirectoryFd,
    AtFlags,
    WaitOptions,
    FcntlCommand,
    MaskHow,
}

/// <summary>
/// What a BSD-derived system (FreeBSD, Darwin) spells differently from Linux: errno values, signal
/// numbers, open/mmap/wait/*at flags, clock ids, fcntl commands. Every value is looked up by its C
/// name in the system's own constant table (tools/abi/OS/constants.tbl), so the handlers keep Linux's
/// vocabulary and each call's arguments are translated on the way in, its results on the way out.
/// </summary>
public sealed class BsdAbi
{
    private readonly long[] errnoToOs;
    private readonly Dictionary<long, int> signalToLinux = [];
    private readonly Dictionary<int, long> signalFromLinux = [];
    private readonly (ulong Os, ulong Linux)[] openFlags, mapFlags, atFlags, waitOptions, actionFlags;
    private readonly Dictionary<long, int> maskHows = [];
    private readonly Dictionary<long, int> clocks = [];
    private readonly Dictionary<long, int> fcntlCommands = [];
    private readonly long directoryFd;

    private BsdAbi(string os, (string Name, long Value)[] constants, (string Name, int Number)[] numbers, IReadOnlyDictionary<string, string> aliases, IReadOnlySet<string> calls)
    {
        Os = os;
        Numbers = numbers;
        Aliases = aliases;
        Calls = calls;
        var byName = new Dictionary<string, long>();
        foreach (var (name, value) in constants)
            byName.TryAdd(name, value);
        this.constants = byName;
        // Linux errnos the system lacks become EINVAL, the answer a BSD gives to what it cannot do.
        errnoToOs = new long[4096];
        for (var index = 0; index < errnoToOs.Length; index++)
            errnoToOs[index] = byName["EINVAL"];
        foreach (var name in Enum.GetNames<Errno>())
        {
            var linux = (long)Enum.Parse<Errno>(name);
            if (linux is > 0 and < 4096 && byName.TryGetValue(name, out var value) && errnoToOs[linux] == byName["EINVAL"])
                errnoToOs[linux] = value;
        }
        errnoToOs[(int)Errno.EINVAL] = byName["EINVAL"];
        foreach (var (name, value) in constants)
        {
            if (name.StartsWith('E') && !name.StartsWith("EV", StringComparison.Ordinal) && Enum.TryParse<Errno>(name, out _))
                errnoNames.TryAdd(value, name);
        }
        foreach (var name in Enum.GetNames<Signal>())
        {
            if (!byName.TryGetValue(name, out var value))
                continue;
            var linux = (int)Enum.Parse<Signal>(name);
            signalToLinux.TryAdd(value, linux);
            signalFromLinux.TryAdd(linux, value);
        }
        // The realtime signals, in order from each system's SIGRTMIN, as far as Linux's 32..64 reach.
        if (byName.TryGetValue("SIGRTMIN", out var realtimeMin) && byName.TryGetValue("SIGRTMAX", out var realtimeMax))
        {
            for (var offset = 0; realtimeMin + offset <= realtimeMax && 32 + offset <= 64; offset++)
            {
                signalToLinux.TryAdd(realtimeMin + offset, 32 + offset);
                signalFromLinux.TryAdd(32 + offset, realtimeMin + offset);
            }
        }
        actionFlags = Pairs<SignalActionFlags>(byName, "SA_", []);
        foreach (var name in Enum.GetNames<SignalMaskHow>())
        {
            if (byName.TryGetValue(name, out var value))
                maskHows.TryAdd(value, (int)Enum.Parse<SignalMaskHow>(name));
        }
        openFlags = Pairs<OpenFlags>(byName, "O_", []);
        mapFlags = Pairs<MapFlags>(byName, "MAP_", new Dictionary<string, string> { ["MAP_ANON"] = "MAP_ANONYMOUS" });
        atFlags = Pairs<AtFlags>(byName, "AT_", []);
        waitOptions = Pairs<WaitOptions>(byName, "W", []);
        foreach (var name in Enum.GetNames<ClockId>())
        {
            if (byName.TryGetValue(name, out var value))
                clocks.TryAdd(value, (int)Enum.Parse<ClockId>(name));
        }
        // FreeBSD's own clocks: the uptime clocks are the monotonic clock, _FAST and _PRECISE their base clock.
        foreach (var (name, value) in constants)
        {
            if (!name.StartsWith("CLOCK_", StringComparison.Ordinal) || clocks.ContainsKey(value))
                continue;
            var basic = name.Replace("_FAST", "").Replace("_PRECISE", "").Replace("UPTIME", "MONOTONIC").Replace("_RAW_APPROX", "").Replace("_RAW", "");
            if (Enum.TryParse<ClockId>(basic, out var linux))
                clocks[value] = (int)linux;
        }
        foreach (var name in Enum.GetNames<FcntlCommand>())
        {
            if (byName.TryGetValue(name, out var value))
                fcntlCommands.TryAdd(value, (int)Enum.Parse<FcntlCommand>(name));
        }
        // SunOS 4 has no *at calls, so no AT_FDCWD.
        directoryFd = byName.GetValueOrDefault("AT_FDCWD", -100);
    }

    private readonly Dictionary<string, long> constants;

    /// <summary>A constant of the system's headers by its C name (what Linux has no counterpart for: kqueue's filters and flags).</summary>
    public long Constant(string name) => constants[name];

    /// <summary>The system's name as the CLI spells it (--personality, syscalls --os).</summary>
    public string Os { get; }

    /// <summary>kern.ostype, kern.osrelease and kern.osreldate (0: the system has no such name) as sysctl reports them.</summary>
    public required (string Type, string Release, int ReleaseDate) Version { get; init; }

    public (string Name, int Number)[] Numbers { get; }

    /// <summary>Table names served by a Linux handler of another name (FreeBSD's exit is exit_group).</summary>
    public IReadOnlyDictionary<string, string> Aliases { get; }

    /// <summary>The calls whose Linux handler serves this system once arguments are translated (by handler name).</summary>
    public IReadOnlySet<string> Calls { get; }

    /// <summary>Same number, same meaning after translation: the calls every BSD-derived system shares with Linux.</summary>
    private static readonly string[] CommonCalls =
    [
        "read", "write", "open", "close", "wait4", "link", "unlink", "chdir", "fchdir", "chmod", "chown", "getpid", "setuid", "getuid",
        "geteuid", "access", "sync", "kill", "getppid", "dup", "getegid", "getgid", "symlink", "readlink", "execve", "umask", "chroot",
        "fork", "vfork", "munmap", "mprotect", "getpgrp", "setpgid", "dup2", "fcntl", "fsync", "rename", "mkdir", "rmdir", "setsid",
        "getpgid", "lchown", "fchown", "fchmod", "setreuid", "setregid", "setgid", "getsid", "poll", "pread64", "pwrite64", "readv",
        "writev", "ftruncate", "truncate", "lseek", "mmap", "exit_group", "gettimeofday", "getrandom", "sched_yield", "nanosleep",
        "clock_gettime", "clock_getres", "openat", "unlinkat", "mkdirat", "fchmodat", "fchownat", "faccessat", "readlinkat",
        "symlinkat", "linkat", "renameat", "pipe2", "select", "issetugid", "pipe_pair",
    ];

    public static BsdAbi FreeBsd { get; } = new("freebsd", FreeBsdConstants.All, FreeBsdSyscallNumbers.All,
        new Dictionary<string, string>
        {
            ["exit"] = "exit_group",
            ["pread"] = "pread64",
            ["pwrite"] = "pwrite64",
            ["thr_kill"] = "tkill",
            ["fstatat"] = "newfstatat",
            ["thr_kill2"] = "tgkill",
            ["sigaction"] = "freebsd_sigaction",
            ["sigprocmask"] = "bsd_sigprocmask",
            ["sigpending"] = "bsd_sigpending",
            ["sigsuspend"] = "bsd_sigsuspend",
            ["sigreturn"] = "bsd_sigreturn",
            ["sigaltstack"] = "bsd_sigaltstack",
        },
        new HashSet<string>(CommonCalls)
        {
            "thr_new", "thr_self", "thr_exit", "tkill", "tgkill", "_umtx_op", "__sysctl", "cpuset_getaffinity", "kqueue", "kevent", "fstat",
            "newfstatat", "freebsd_sigaction", "bsd_sigprocmask", "bsd_sigpending", "bsd_sigsuspend", "bsd_sigreturn", "bsd_sigaltstack",
            "setitimer", "getitimer",
        })
    {
        SignalSetSize = 16,
        // FreeBSD 14.0-RELEASE: __FreeBSD_version 1400097 (sys/sys/param.h).
        Version = ("FreeBSD", "14.0-RELEASE", 1400097),
    };

    /// <summary>
    /// SunOS 4.1 (4.3BSD's calls and numbering, with System V's errno past ENOSYS's 90): no *at calls, no
    /// MAP_ANON (anonymous memory is a MAP_PRIVATE mapping of /dev/zero), and getpid, getuid, getgid
    /// answering in two registers.
    /// </summary>
    public static BsdAbi SunOs4 { get; } = new("sunos4", SunOs4Constants.All, SunOs4SyscallNumbers.All,
        new Dictionary<string, string>
        {
            ["exit"] = "exit_group",
            ["pipe"] = "pipe_pair",
            ["getpid"] = "sunos_getpid",
            ["getuid"] = "sunos_getuid",
            ["getgid"] = "sunos_getgid",
            ["brk"] = "sunos_brk",
            ["setpgrp"] = "setpgid",
        },
        new HashSet<string>(CommonCalls)
        {
            "creat", "stat", "lstat", "fstat", "sunos_getpid", "sunos_getuid", "sunos_getgid", "sunos_brk", "getpagesize",
            "getdtablesize", "sigblock", "sigsetmask", "sigvec", "sigcleanup", "madvise",
        })
    {
        Version = ("SunOS", "4.1.4", 0),
    };

    public static BsdAbi Darwin { get; } = new("darwin", DarwinConstants.All, DarwinSyscallNumbers.All,
        new Dictionary<string, string>
        {
            ["exit"] = "exit_group",
            ["pread"] = "pread64",
            ["pwrite"] = "pwrite64",
            ["pipe"] = "pipe_pair",
            // The *_nocancel entries are the same calls without a cancellation point (Trapeze has none).
            ["read_nocancel"] = "read",
            ["write_nocancel"] = "write",
            ["open_nocancel"] = "open",
            ["close_nocancel"] = "close",
            ["wait4_nocancel"] = "wait4",
            ["fcntl_nocancel"] = "fcntl",
            ["openat_nocancel"] = "openat",
            ["sysctl"] = "__sysctl",
            // The 64-bit inode calls, which stat(2) is in every x86-64 macOS libc; struct stat64 is their layout.
            ["stat64"] = "stat",
            ["fstat64"] = "fstat",
            ["lstat64"] = "lstat",
            ["fstatat64"] = "newfstatat",
            // The 32-bit inode calls of Mac OS X 10.5 and before lay struct stat out otherwise: not served.
            ["stat"] = "darwin_stat_ino32",
            ["fstat"] = "darwin_stat_ino32",
            ["lstat"] = "darwin_stat_ino32",
            ["fstatat"] = "darwin_stat_ino32",
            ["sigaction"] = "darwin_sigaction",
            ["sigprocmask"] = "bsd_sigprocmask",
            ["__pthread_sigmask"] = "bsd_sigprocmask",
            ["sigpending"] = "bsd_sigpending",
            ["sigaltstack"] = "bsd_sigaltstack",
            ["sigsuspend"] = "darwin_sigsuspend",
            ["sigsuspend_nocancel"] = "darwin_sigsuspend",
            ["sigreturn"] = "darwin_sigreturn",
        },
        new HashSet<string>(CommonCalls)
        {
            "__sysctl", "stat", "fstat", "lstat", "newfstatat", "darwin_sigaction", "bsd_sigprocmask", "bsd_sigpending",
            "bsd_sigaltstack", "darwin_sigsuspend", "darwin_sigreturn",
        })
    {
        // macOS 14's kernel, Darwin 23.
        Version = ("Darwin", "23.0.0", 0),
    };

    private readonly Dictionary<long, string> errnoNames = [];

    /// <summary>sigset_t's size: FreeBSD's four 32-bit words (sys/_sigset.h), one word on Darwin and SunOS 4.</summary>
    public int SignalSetSize { get; init; } = 4;

    /// <summary>A constant of the system's headers, or <paramref name="fallback"/> where they have none.</summary>
    public long ConstantOr(string name, long fallback) => constants.GetValueOrDefault(name, fallback);

    /// <summary>The system's sigset_t (bit N-1 for its signal N) as Linux's mask; signals Linux has no number for drop out.</summary>
    public ulong SignalSetToLinux(ReadOnlySpan<byte> set)
    {
        ulong mask = 0;
        for (var bit = 0; bit < 8 * Math.Min(set.Length, SignalSetSize); bit++)
        {
            if ((set[bit / 8] & (1 << (bit % 8))) != 0 && SignalToLinux(bit + 1) is var linux and > 0)
                mask |= 1UL << (linux - 1);
        }
        return mask;
    }

    /// <summary>Linux's mask as the system's sigset_t, <see cref="SignalSetSize"/> bytes.</summary>
    public byte[] SignalSetFromLinux(ulong mask)
    {
        var set = new byte[SignalSetSize];
        for (var linux = 1; linux <= 64; linux++)
        {
            if ((mask & (1UL << (linux - 1))) != 0 && signalFromLinux.TryGetValue(linux, out var signal) && signal >= 1 && signal <= 8 * SignalSetSize)
                set[(signal - 1) / 8] |= (byte)(1 << (int)((signal - 1) % 8));
        }
        return set;
    }

    /// <summary>sigaction's sa_flags, the system's bits to Linux's or back (what has no counterpart drops out).</summary>
    public ulong ActionFlags(ulong flags, bool toLinux) => Bits(flags, actionFlags, toLinux);

    /// <summary>si_code in the system's values: BSDs number the user codes from 0x10001 (SI_USER) where Linux has 0 and below.</summary>
    public int SignalCodeFromLinux(int code)
    {
        var name = code switch
        {
            SignalInfo.User => "SI_USER",
            SignalInfo.Queue => "SI_QUEUE",
            SignalInfo.TimerCode => "SI_TIMER",
            SignalInfo.KernelCode => "SI_KERNEL",
            SignalInfo.ThreadKill => "SI_LWP",
            -3 => "SI_MESGQ",
            -4 => "SI_ASYNCIO",
            _ => null,
        };
        return name is null ? code : (int)ConstantOr(name, ConstantOr("SI_USER", code));
    }

    /// <summary>
    /// siginfo_t as FreeBSD and Darwin lay it out (sys/signal.h): si_signo, si_errno, si_code, si_pid,
    /// si_uid, si_status, then the word-sized si_addr and si_value, then the reason union (si_trapno, or
    /// si_timerid and si_overrun); 80 bytes with 8-byte words, 64 with 4-byte ones.
    /// </summary>
    public byte[] SignalInformation(SignalInfo info, int wordSize)
    {
        var bytes = new byte[wordSize == 8 ? 80 : 64];
        var span = bytes.AsSpan();
        var child = info.Signal == (int)Signal.SIGCHLD && info.Code > 0;
        BinaryPrimitives.WriteInt32LittleEndian(span, (int)SignalFromLinux(info.Signal));
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], info.Errno);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], SignalCodeFromLinux(info.Code));
        if (info.Address is null && info.Code != SignalInfo.TimerCode)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[12..], info.Pid);
            BinaryPrimitives.WriteUInt32LittleEndian(span[16..], info.Uid);
        }
        // A child's exit code, or the signal that killed, stopped or continued it (CLD_EXITED is 1).
        if (child)
            BinaryPrimitives.WriteInt32LittleEndian(span[20..], info.Code == 1 ? info.Status : (int)SignalFromLinux(info.Status));
        var address = info.Address ?? 0;
        var reason = 24 + 2 * wordSize;
        if (wordSize == 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[24..], address);
            BinaryPrimitives.WriteUInt64LittleEndian(span[32..], child ? 0 : info.Value);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[24..], (uint)address);
            BinaryPrimitives.WriteUInt32LittleEndian(span[28..], (uint)(child ? 0 : info.Value));
        }
        if (info.Address is not null)
            BinaryPrimitives.WriteInt32LittleEndian(span[reason..], TrapNumber(info.TrapNumber));
        else if (info.Code == SignalInfo.TimerCode)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[reason..], info.Pid);
            BinaryPrimitives.WriteInt32LittleEndian(span[(reason + 4)..], info.Overrun);
        }
        return bytes;
    }

    /// <summary>An x86 exception vector as the system's trap number (machine/trap.h's T_*: a page fault is T_PAGEFLT, 12).</summary>
    public int TrapNumber(int vector)
    {
        var name = vector switch
        {
            0 => "T_DIVIDE",
            1 => "T_TRCTRAP",
            3 => "T_BPTFLT",
            6 => "T_PRIVINFLT",
            11 => "T_SEGNPFLT",
            12 => "T_STKFLT",
            13 => "T_PROTFLT",
            14 => "T_PAGEFLT",
            16 => "T_ARITHTRAP",
            17 => "T_ALIGNFLT",
            19 => "T_XMMFLT",
            _ => null,
        };
        return name is null ? vector : (int)ConstantOr(name, vector);
    }

    /// <summary>The name the system's headers give its errno <paramref name="value"/> (the tracer prints the guest's errno).</summary>
    public string ErrnoName(long value) => errnoNames.GetValueOrDefault(value, $"E{value}");

    /// <summary>
    /// The system's struct stat, declared by Linux's field names (<see cref="LinuxStructures"/> fills
    /// them): FreeBSD's freebsd12+ layout (sys/stat.h: 64-bit ino and nlink, timespecs, birthtime; on
    /// i386 each time has a 32-bit extension word before it), Darwin's struct stat64 (sys/stat.h,
    /// __DARWIN_STRUCT_STAT64: 32-bit dev, 16-bit mode and nlink, 64-bit ino).
    /// </summary>
    public Abi.GuestLayout? StatLayout(Abi.DataModel model)
    {
        var narrow = model.WordSize == 4;
        var fields = new List<(Abi.CType, string)>();
        void Time(string name, bool extension)
        {
            if (extension)
                fields.Add((Abi.CType.Int, name + "_ext"));
            fields.Add((Abi.CType.Long, name));
            fields.Add((Abi.CType.Long, name + "_nsec"));
        }
        switch (Os)
        {
            case "freebsd":
                fields.AddRange([(Abi.CType.LongLong, "st_dev"), (Abi.CType.LongLong, "st_ino"), (Abi.CType.LongLong, "st_nlink"),
                    (Abi.CType.Short, "st_mode"), (Abi.CType.Short, "st_padding0"), (Abi.CType.Int, "st_uid"), (Abi.CType.Int, "st_gid"),
                    (Abi.CType.Int, "st_padding1"), (Abi.CType.LongLong, "st_rdev")]);
                foreach (var time in new[] { "st_atime", "st_mtime", "st_ctime", "st_birthtime" })
                    Time(time, narrow);
                fields.AddRange([(Abi.CType.LongLong, "st_size"), (Abi.CType.LongLong, "st_blocks"), (Abi.CType.Int, "st_blksize"),
                    (Abi.CType.Int, "st_flags"), (Abi.CType.LongLong, "st_gen")]);
                for (var spare = 0; spare < 10; spare++)
                    fields.Add((Abi.CType.LongLong, $"st_spare{spare}"));
                break;
            case "darwin":
                fields.AddRange([(Abi.CType.Int, "st_dev"), (Abi.CType.Short, "st_mode"), (Abi.CType.Short, "st_nlink"),
                    (Abi.CType.LongLong, "st_ino"), (Abi.CType.Int, "st_uid"), (Abi.CType.Int, "st_gid"), (Abi.CType.Int, "st_rdev")]);
                if (!narrow)
                    fields.Add((Abi.CType.Pad4, "__pad"));
                foreach (var time in new[] { "st_atime", "st_mtime", "st_ctime", "st_birthtime" })
                    Time(time, false);
                fields.AddRange([(Abi.CType.LongLong, "st_size"), (Abi.CType.LongLong, "st_blocks"), (Abi.CType.Int, "st_blksize"),
                    (Abi.CType.Int, "st_flags"), (Abi.CType.Int, "st_gen"), (Abi.CType.Int, "st_lspare"),
                    (Abi.CType.LongLong, "st_qspare0"), (Abi.CType.LongLong, "st_qspare1")]);
                break;
            default:
                return null;
        }
        return new Abi.GuestLayout(model, [.. fields]);
    }

    /// <summary>The system's errno for a Linux one (handlers speak Linux's).</summary>
    public long ErrnoFromLinux(long linux) => linux is > 0 and < 4096 ? errnoToOs[linux] : errnoToOs[(int)Errno.EINVAL];

    public long SignalFromLinux(int linux) => signalFromLinux.GetValueOrDefault(linux, linux);

    /// <summary>Linux's number for one of the system's signals; 0 for a number the system does not define.</summary>
    public int SignalToLinux(long signal) => signalToLinux.GetValueOrDefault(signal, 0);

    /// <summary>The handler a table entry binds to, wrapped in the entry's translations; null where Linux's meaning differs.</summary>
    internal SyscallDefinition? Bind(string name, SyscallDefinition? definition, Action<GuestThread, ulong> writeSecondResult)
    {
        if (definition is null)
            return null;
        var handler = Aliases.GetValueOrDefault(name) ?? name;
        if (!Calls.Contains(handler))
            return null;
        var rules = RulesFor(name);
        var original = definition.Invoke;
        var twoResults = handler is "fork" or "vfork" or "pipe_pair" or "sunos_getpid" or "sunos_getuid" or "sunos_getgid";
        Result Invoke(GuestThread thread, in SyscallArguments arguments)
        {
            thread.SecondResult = 0;
            var result = original(thread, arguments);
            if (!result.IsFinished || result.IsError)
                return result;
            if (twoResults)
                writeSecondResult(thread, thread.SecondResult);
            return handler switch
            {
                "wait4" => TranslateStatus(thread, new GuestAddress(arguments.Arg1), result),
                "fcntl" when arguments.Arg1 == (ulong)FcntlCommand.F_GETFL => (long)Flags((ulong)result.Raw, openFlags, toLinux: false),
                _ => result,
            };
        }
        var note = rules.Length == 0 ? definition.Note : JoinNote(definition.Note, $"{Os}'s values translated to Linux's by name");
        return definition with { Invoke = Invoke, Note = note };
    }

    /// <summary>Which arguments of a table entry are spelled in the system's own values.</summary>
    internal (int Index, BsdArgument Kind)[] RulesFor(string name)
        => (Aliases.GetValueOrDefault(name) ?? name) switch
        {
            "open" => [(1, BsdArgument.OpenFlags)],
            "openat" => [(0, BsdArgument.DirectoryFd), (2, BsdArgument.OpenFlags)],
            "pipe2" => [(1, BsdArgument.OpenFlags)],
            "mmap" => [(3, BsdArgument.MapFlags)],
            "kill" or "tkill" => [(1, BsdArgument.Signal)],
            "darwin_sigaction" or "sigvec" => [(0, BsdArgument.Signal)],
            "tgkill" => [(2, BsdArgument.Signal)],
            "freebsd_sigaction" => [(0, BsdArgument.Signal)],
            "bsd_sigprocmask" => [(0, BsdArgument.MaskHow)],
            "clock_gettime" or "clock_getres" => [(0, BsdArgument.Clock)],
            "wait4" => [(2, BsdArgument.WaitOptions)],
            "fcntl" => [(1, BsdArgument.FcntlCommand)],
            "unlinkat" => [(0, BsdArgument.DirectoryFd), (2, BsdArgument.AtFlags)],
            "fchmodat" or "faccessat" => [(0, BsdArgument.DirectoryFd), (3, BsdArgument.AtFlags)],
            "fchownat" => [(0, BsdArgument.DirectoryFd), (4, BsdArgument.AtFlags)],
            "newfstatat" => [(0, BsdArgument.DirectoryFd), (3, BsdArgument.AtFlags)],
            "mkdirat" or "readlinkat" => [(0, BsdArgument.DirectoryFd)],
            "symlinkat" => [(1, BsdArgument.DirectoryFd)],
            "renameat" => [(0, BsdArgument.DirectoryFd), (2, BsdArgument.DirectoryFd)],
            "linkat" => [(0, BsdArgument.DirectoryFd), (2, BsdArgument.DirectoryFd), (4, BsdArgument.AtFlags)],
            _ => [],
        };

    /// <summary>
    /// The arguments in Linux's vocabulary, before the tracer and the handler see them (so a trace names
    /// the flags). A value the system does not define becomes one Linux rejects too (EINVAL).
    /// </summary>
    internal void Translate((int Index, BsdArgument Kind)[] rules, ref SyscallArguments arguments)
    {
        const ulong Undefined = 0x7fff_ffff;
        foreach (var (index, kind) in rules)
        {
            if (!Translate(kind, ref Slot(ref arguments, index), ref arguments))
                Slot(ref arguments, index) = Undefined;
        }
    }

    private static string JoinNote(string note, string extra) => note.Length == 0 ? extra : $"{note}; {extra}";

    private static ref ulong Slot(ref SyscallArguments arguments, int index)
    {
        switch (index)
        {
            case 0: return ref arguments.Arg0;
            case 1: return ref arguments.Arg1;
            case 2: return ref arguments.Arg2;
            case 3: return ref arguments.Arg3;
            case 4: return ref arguments.Arg4;
            default: return ref arguments.Arg5;
        }
    }

    /// <summary>One argument into Linux's vocabulary; false for a value the system does not define.</summary>
    private bool Translate(BsdArgument kind, ref ulong value, ref SyscallArguments all)
    {
        switch (kind)
        {
            case BsdArgument.OpenFlags:
                value = Flags(value, openFlags, toLinux: true);
                return true;
            case BsdArgument.MapFlags:
                value = Flags(value, mapFlags, toLinux: true);
                return true;
            case BsdArgument.AtFlags:
                value = Flags(value, atFlags, toLinux: true);
                return true;
            case BsdArgument.WaitOptions:
                value = Flags(value, waitOptions, toLinux: true);
                return true;
            case BsdArgument.DirectoryFd:
                if ((int)value == directoryFd)
                    value = unchecked((ulong)-100); // Linux's AT_FDCWD
                return true;
            case BsdArgument.Signal:
                if ((int)value == 0)
                    return true;
                if (!signalToLinux.TryGetValue((int)value, out var signal))
                    return false;
                value = (ulong)signal;
                return true;
            case BsdArgument.Clock:
                if (!clocks.TryGetValue((int)value, out var clock))
                    return false;
                value = (ulong)clock;
                return true;
            case BsdArgument.MaskHow:
                if (!maskHows.TryGetValue((int)value, out var how))
                    return false;
                value = (ulong)how;
                return true;
            case BsdArgument.FcntlCommand:
                if (!fcntlCommands.TryGetValue((int)value, out var command))
                    return false;
                value = (ulong)command;
                if (command == (int)FcntlCommand.F_SETFL)
                    all.Arg2 = Flags(all.Arg2, openFlags, toLinux: true);
                return true;
            default:
                return true;
        }
    }

    /// <summary>wait4's status word: the exit code sits where Linux puts it, a signal number is the system's own.</summary>
    private Result TranslateStatus(GuestThread thread, GuestAddress status, Result result)
    {
        if (status.IsNull || result.Raw == 0 || thread.Memory.Read(status, out int word) != Errno.None)
            return result;
        var low = word & 0x7f;
        if (low == 0x7f)
            word = (word & ~0xff00) | (int)(SignalFromLinux((word >> 8) & 0xff) << 8);
        else if (low != 0)
            word = (word & ~0x7f) | (int)SignalFromLinux(low);
        thread.Memory.Write(status, word);
        return result;
    }

    // The access mode (O_RDONLY, O_WRONLY, O_RDWR) is a two-bit number on every system.
    private static ulong Flags(ulong value, (ulong Os, ulong Linux)[] pairs, bool toLinux) => (value & 3) | Bits(value, pairs, toLinux);

    private static ulong Bits(ulong value, (ulong Os, ulong Linux)[] pairs, bool toLinux)
    {
        ulong result = 0;
        foreach (var (os, linux) in pairs)
        {
            var from = toLinux ? os : linux;
            if (from != 0 && (value & from) == from)
                result |= toLinux ? linux : os;
        }
        return result;
    }

    /// <summary>Each flag of Linux's enum that the system names too: (the system's bits, Linux's bits).</summary>
    private static (ulong, ulong)[] Pairs<T>(Dictionary<string, long> byName, string prefix, Dictionary<string, string> synonyms)
        where T : struct, Enum
    {
        var pairs = new List<(ulong, ulong)>();
        foreach (var (name, value) in byName)
        {
            if (!name.StartsWith(prefix, StringComparison.Ordinal) || value <= 0 || name is "O_ACCMODE" or "O_RDWR" or "O_WRONLY")
                continue;
            var linuxName = synonyms.GetValueOrDefault(name, name);
            if (Enum.TryParse<T>(linuxName, out var linux) && Convert.ToUInt64(linux, System.Globalization.CultureInfo.InvariantCulture) is var bits and not 0)
                pairs.Add(((ulong)value, bits));
        }
        return [.. pairs];
    }
}
