using System.Globalization;
using System.Text;
using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Vfs;

/// <summary>The text of Trapeze's generated /proc files, in the formats fs/proc prints.</summary>
internal static class ProcText
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Linux's names for CPUID feature bits, in the order /proc/cpuinfo lists them (its feature words).</summary>
    private static readonly (string[] Names, Func<uint> Bits)[] FeatureWords =
    [
        (["fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "", "sep", "mtrr", "pge", "mca", "cmov",
          "pat", "pse36", "pn", "clflush", "", "dts", "acpi", "mmx", "fxsr", "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe"],
         () => X64CpuModel.Leaf1Edx),
        (["", "", "", "", "", "", "", "", "", "", "", "syscall", "", "", "", "", "", "", "", "", "nx", "", "mmxext", "",
          "", "fxsr_opt", "pdpe1gb", "rdtscp", "", "lm", "3dnowext", "3dnow"],
         () => X64CpuModel.ExtendedEdx),
        (["pni", "pclmulqdq", "dtes64", "monitor", "ds_cpl", "vmx", "smx", "est", "tm2", "ssse3", "cid", "sdbg", "fma", "cx16",
          "xtpr", "pdcm", "", "pcid", "dca", "sse4_1", "sse4_2", "x2apic", "movbe", "popcnt", "tsc_deadline_timer", "aes",
          "xsave", "", "avx", "f16c", "rdrand", "hypervisor"],
         () => X64CpuModel.Leaf1Ecx),
        (["lahf_lm", "cmp_legacy", "svm", "extapic", "cr8_legacy", "abm", "sse4a", "misalignsse", "3dnowprefetch", "osvw",
          "ibs", "xop", "skinit", "wdt", "", "lwp", "fma4", "tce", "", "nodeid_msr", "", "tbm", "topoext", "perfctr_core",
          "perfctr_nb", "", "bpext", "ptsc", "perfctr_llc", "mwaitx", "", ""],
         () => X64CpuModel.ExtendedEcx),
    ];

    public static byte[] Line(string text) => Encoding.UTF8.GetBytes(text + "\n");

    /// <summary>/proc/cpuinfo: one block per CPU the guest may use, describing the CPU CPUID describes.</summary>
    public static byte[] CpuInfo()
    {
        var flags = string.Join(' ', FeatureWords.SelectMany(word =>
            word.Names.Where((name, bit) => name.Length > 0 && (word.Bits() & (1u << bit)) != 0)));
        var count = Environment.ProcessorCount;
        var text = new StringBuilder();
        for (var cpu = 0; cpu < count; cpu++)
        {
            text.Append(Invariant, $"processor\t: {cpu}\n");
            text.Append(Invariant, $"vendor_id\t: {X64CpuModel.Vendor}\n");
            text.Append(Invariant, $"cpu family\t: {X64CpuModel.Family}\n");
            text.Append(Invariant, $"model\t\t: {X64CpuModel.Model}\n");
            text.Append(Invariant, $"model name\t: {X64CpuModel.ModelName}\n");
            text.Append(Invariant, $"stepping\t: {X64CpuModel.Stepping}\n");
            text.Append("cpu MHz\t\t: 1000.000\n");
            text.Append(Invariant, $"physical id\t: 0\nsiblings\t: {count}\ncore id\t\t: {cpu}\ncpu cores\t: {count}\n");
            text.Append(Invariant, $"apicid\t\t: {cpu}\ninitial apicid\t: {cpu}\n");
            text.Append(Invariant, $"fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: {X64CpuModel.MaximumLeaf}\nwp\t\t: yes\n");
            text.Append(Invariant, $"flags\t\t: {flags}\n");
            text.Append("bugs\t\t:\nbogomips\t: 2000.00\nclflush size\t: 64\ncache_alignment\t: 64\n");
            text.Append("address sizes\t: 40 bits physical, 48 bits virtual\npower management:\n\n");
        }
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    /// <summary>A deterministic run's machine: 4 GiB, half of it free, no swap (sysinfo says the same).</summary>
    public const ulong FixedMemory = 4UL << 30, FixedFreeMemory = 2UL << 30;

    public static byte[] FixedMemoryInfo()
    {
        var total = FixedMemory >> 10;
        var free = FixedFreeMemory >> 10;
        return Encoding.ASCII.GetBytes(
            $"MemTotal:       {total,8} kB\nMemFree:        {free,8} kB\nMemAvailable:   {free,8} kB\nBuffers:               0 kB\n"
            + $"Cached:                0 kB\nSwapCached:            0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n"
            + $"Shmem:                 0 kB\nHugepagesize:       2048 kB\n");
    }

    /// <summary>/proc/uptime from a monotonic reading: seconds up and seconds idle (none).</summary>
    public static byte[] Uptime(long monotonic)
        => Encoding.ASCII.GetBytes(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{monotonic / 1e9:F2} 0.00\n"));

    /// <summary>/proc/meminfo: the host's memory, as sysinfo reports it too, in the fields programs read.</summary>
    public static byte[] MemoryInfo()
    {
        string[] fields = ["MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active", "Inactive",
            "SwapTotal", "SwapFree", "Dirty", "Shmem", "Slab", "CommitLimit", "Committed_AS", "Hugepagesize"];
        var host = new Dictionary<string, string>();
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                var colon = line.IndexOf(':');
                if (colon > 0)
                    host[line[..colon]] = line[(colon + 1)..].Trim();
            }
        }
        catch (IOException)
        {
            // Without the host's figures every field reads 0 kB: present, as programs expect, and plainly unknown.
        }
        var text = new StringBuilder();
        foreach (var field in fields)
            text.Append(Invariant, $"{field + ":",-16}{host.GetValueOrDefault(field, "0 kB"),12}\n");
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    /// <summary>/proc/PID/maps: one line per mapping, file mappings with the file's device and inode.</summary>
    public static byte[] Maps(Process process)
    {
        var text = new StringBuilder();
        var files = new Dictionary<string, (ulong Device, ulong Inode)>();
        foreach (var mapping in process.AddressSpace.Mappings)
        {
            var protection = mapping.Protection;
            var isFile = mapping.Name.StartsWith('/');
            var (device, inode) = isFile ? FileIdentity(files, mapping.Name) : (0UL, 0UL);
            var line = string.Create(Invariant, $"{mapping.Start:x8}-{mapping.End:x8} "
                + $"{((protection & MemoryProtection.Read) != 0 ? 'r' : '-')}{((protection & MemoryProtection.Write) != 0 ? 'w' : '-')}"
                + $"{((protection & MemoryProtection.Execute) != 0 ? 'x' : '-')}p "
                + $"{(isFile ? mapping.FileOffset : 0):x8} {Major(device):x2}:{Minor(device):x2} {inode} ");
            text.Append(line);
            if (mapping.Name.Length > 0)
            {
                // fs/proc pads the name to start in column 74 (25 + 6 * sizeof(void *)).
                text.Append(' ', Math.Max(0, 73 - line.Length));
                text.Append(mapping.Name);
            }
            text.Append('\n');
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>
    /// /proc/PID/fdinfo/N: pos, flags (octal, O_CLOEXEC for a close-on-exec descriptor), mnt_id (0 for a
    /// file outside the mount table: pipes, sockets, inherited descriptors) and ino. The lines some kinds
    /// add (eventfd-count, tfd, inotify wd, ...) are not written.
    /// </summary>
    public static byte[] FileInfo(Kernel kernel, Files.FileTable files, int fd)
    {
        if (files.Get(fd) is not { } file)
            return [];
        var position = file.Seek(0, SeekWhence.SEEK_CUR) is { IsError: false } at ? at.Raw : 0;
        var flags = Syscalls.Descriptors.StatusFlagsOf(file) | (files.GetCloseOnExec(fd) ? OpenFlags.O_CLOEXEC : 0);
        var mount = PathWalker.LocationOf(kernel, file, null)?.Mount.Id ?? 0;
        var inode = file.Status(out var status).IsError ? 0 : status.Inode;
        return Encoding.ASCII.GetBytes(string.Create(Invariant, $"pos:\t{position}\nflags:\t0{Convert.ToString((int)flags, 8)}\nmnt_id:\t{mount}\nino:\t{inode}\n"));
    }

    /// <summary>/proc/PID/status: identity, memory and signal state in the "Name:\tvalue" format.</summary>
    public static byte[] Status(Process process, GuestThread thread)
    {
        var (size, stack, data, executable, libraries) = MemorySizes(process);
        var (ignored, caught) = SignalDispositions(process);
        var cpus = Environment.ProcessorCount;
        var text = new StringBuilder();
        text.Append(Invariant, $"Name:\t{process.Command}\nUmask:\t{Convert.ToString(process.FileCreationMask, 8).PadLeft(4, '0')}\n");
        text.Append(Invariant, $"State:\tR (running)\nTgid:\t{process.Id}\nNgid:\t0\nPid:\t{thread.Id}\nPPid:\t{process.ParentId}\nTracerPid:\t0\n");
        text.Append(Invariant, $"Uid:\t{HostIdentity.UserId}\t{HostIdentity.EffectiveUserId}\t{HostIdentity.EffectiveUserId}\t{HostIdentity.EffectiveUserId}\n");
        text.Append(Invariant, $"Gid:\t{HostIdentity.GroupId}\t{HostIdentity.EffectiveGroupId}\t{HostIdentity.EffectiveGroupId}\t{HostIdentity.EffectiveGroupId}\n");
        text.Append(Invariant, $"FDSize:\t{Math.Max(64, (process.Files.All().Select(f => f.Fd).DefaultIfEmpty(0).Max() + 64) / 64 * 64)}\nGroups:\t\n");
        text.Append(Invariant, $"NStgid:\t{process.Id}\nNSpid:\t{thread.Id}\nNSpgid:\t{process.Id}\nNSsid:\t{process.Id}\n");
        text.Append(Invariant, $"VmPeak:\t{Kilobytes(size)}\nVmSize:\t{Kilobytes(size)}\nVmLck:\t{Kilobytes(0)}\nVmPin:\t{Kilobytes(0)}\n");
        text.Append(Invariant, $"VmHWM:\t{Kilobytes(size)}\nVmRSS:\t{Kilobytes(size)}\n");
        text.Append(Invariant, $"VmData:\t{Kilobytes(data)}\nVmStk:\t{Kilobytes(stack)}\nVmExe:\t{Kilobytes(executable)}\nVmLib:\t{Kilobytes(libraries)}\n");
        text.Append(Invariant, $"VmPTE:\t{Kilobytes(0)}\nVmSwap:\t{Kilobytes(0)}\nThreads:\t1\nSigQ:\t0/{process.ResourceLimits.GetValueOrDefault(RlimitResource.RLIMIT_SIGPENDING).Current}\n");
        text.Append(Invariant, $"SigPnd:\t{0:x16}\nShdPnd:\t{0:x16}\nSigBlk:\t{thread.SignalMask:x16}\nSigIgn:\t{ignored:x16}\nSigCgt:\t{caught:x16}\n");
        text.Append(Invariant, $"CapInh:\t{0:x16}\nCapPrm:\t{0:x16}\nCapEff:\t{0:x16}\nCapBnd:\t{0x1ff_ffff_ffffUL:x16}\nCapAmb:\t{0:x16}\n");
        text.Append("NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n");
        text.Append(Invariant, $"Cpus_allowed:\t{CpuMask(cpus)}\nCpus_allowed_list:\t{(cpus == 1 ? "0" : $"0-{cpus - 1}")}\n");
        text.Append("Mems_allowed:\t1\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>/proc/PID/stat: the 52 fields of fs/proc/array.c, those Trapeze does not track as 0.</summary>
    public static byte[] Stat(Process process, GuestThread thread)
    {
        var (size, _, _, _, _) = MemorySizes(process);
        var (ignored, caught) = SignalDispositions(process);
        var stack = process.AddressSpace.Mappings.FirstOrDefault(m => m.Name == "[stack]");
        // pid (comm) state ppid pgrp session tty_nr tpgid flags, minflt..cstime, priority nice num_threads itrealvalue
        // starttime vsize rss rsslim startcode endcode startstack kstkesp kstkeip signal blocked sigignore sigcatch
        // wchan nswap cnswap exit_signal processor rt_priority policy delayacct guest_time cguest_time start_data
        // end_data start_brk arg_start arg_end env_start env_end exit_code
        var text = string.Create(Invariant,
            $"{thread.Id} ({process.Command}) R {process.ParentId} {process.Id} {process.Id} 0 -1 4194304 0 0 0 0 0 0 0 0 "
            + $"20 0 1 0 0 {size} {size / AddressSpace.PageSize} {ulong.MaxValue} 0 0 {stack?.End ?? 0} 0 0 0 "
            + $"{thread.SignalMask} {ignored} {caught} 0 0 0 17 0 0 0 0 0 0 0 0 {process.BreakStart} "
            + $"{process.Arguments.Start} {process.Arguments.End} {process.Environment.Start} {process.Environment.End} 0\n");
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>/proc/PID/statm: sizes in pages (size resident shared text lib data dt).</summary>
    public static byte[] StatMemory(Process process)
    {
        var (size, stack, data, executable, _) = MemorySizes(process);
        var pages = (ulong bytes) => bytes / AddressSpace.PageSize;
        return Line(string.Create(Invariant, $"{pages(size)} {pages(size)} 0 {pages(executable)} 0 {pages(data + stack)} 0"));
    }

    /// <summary>/proc/PID/cmdline and environ: the NUL-separated strings as they are now in guest memory.</summary>
    public static byte[] Strings(Process process, (ulong Start, ulong End) range)
    {
        var bytes = new byte[range.End - range.Start];
        return process.Memory.Read(new GuestAddress(range.Start), bytes) == Errno.None ? bytes : [];
    }

    private static (ulong Size, ulong Stack, ulong Data, ulong Executable, ulong Libraries) MemorySizes(Process process)
    {
        ulong size = 0, stack = 0, data = 0, executable = 0, libraries = 0;
        foreach (var mapping in process.AddressSpace.Mappings)
        {
            size += mapping.Length;
            var writable = (mapping.Protection & MemoryProtection.Write) != 0;
            if (mapping.Name == "[stack]")
                stack += mapping.Length;
            else if (writable)
                data += mapping.Length;
            else if ((mapping.Protection & MemoryProtection.Execute) != 0)
            {
                if (mapping.Name == process.ExecutablePath)
                    executable += mapping.Length;
                else
                    libraries += mapping.Length;
            }
        }
        return (size, stack, data, executable, libraries);
    }

    private static (ulong Ignored, ulong Caught) SignalDispositions(Process process)
    {
        const ulong Default = 0, Ignore = 1;
        ulong ignored = 0, caught = 0;
        for (var signal = 0; signal < process.SignalActions.Length; signal++)
        {
            var handler = BitConverter.ToUInt64(process.SignalActions[signal]);
            if (handler == Ignore)
                ignored |= 1UL << signal;
            else if (handler != Default)
                caught |= 1UL << signal;
        }
        return (ignored, caught);
    }

    private static string Kilobytes(ulong bytes) => string.Create(Invariant, $"{bytes / 1024,8} kB");

    /// <summary>A CPU bitmap as fs/proc prints it: 32-bit hex groups separated by commas, most significant first.</summary>
    private static string CpuMask(int count)
    {
        var groups = new List<string>();
        for (var low = 0; low < count; low += 32)
        {
            var bits = Math.Min(32, count - low);
            groups.Insert(0, (bits == 32 ? uint.MaxValue : (1u << bits) - 1).ToString("x8", Invariant));
        }
        return string.Join(',', groups);
    }

    private static unsafe (ulong Device, ulong Inode) FileIdentity(Dictionary<string, (ulong, ulong)> known, string path)
    {
        if (known.TryGetValue(path, out var identity))
            return identity;
        LinuxStat status;
        var pointer = HostStrings.Pin(path, out var handle);
        var result = HostSyscall.Invoke(HostSyscall.Newfstatat, Files.HostPath.CurrentDirectory, pointer, (long)&status, 0);
        handle.Free();
        identity = result < 0 ? (0, 0) : (status.Device, status.Inode);
        known[path] = identity;
        return identity;
    }

    private static ulong Major(ulong device) => ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfffUL);
    private static ulong Minor(ulong device) => (device & 0xff) | ((device >> 12) & ~0xffUL);
}
