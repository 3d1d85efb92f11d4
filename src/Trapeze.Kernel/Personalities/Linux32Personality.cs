using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// The 32-bit Linux ABIs (i386, ARM EABI): registers hold 32 bits, so a handler's parameters are
/// decoded per call from a plan: a C <c>long</c> is sign-extended, a 64-bit value (loff_t) arrives in
/// a register pair (low word first; on ARM EABI the pair starts at an even register), and a few calls
/// take their arguments in another order than x86-64's (clone's tls and child_tid).
/// </summary>
public abstract class Linux32Personality : LinuxPersonality
{
    private enum Source : byte { Zero, Sign, Pair, HighFirstPair }

    private readonly (Source Kind, byte Register)[]?[] plans;

    /// <summary>Calls whose handler parameters (by index) are 64-bit values passed in two registers.</summary>
    private static readonly Dictionary<string, int[]> WideArguments = new()
    {
        ["pread64"] = [3],
        ["pwrite64"] = [3],
        ["truncate64"] = [1],
        ["ftruncate64"] = [1],
        ["fallocate"] = [2, 3],
        ["fadvise64_64"] = [1, 2],
        ["readahead"] = [1],
    };

    /// <summary>preadv/pwritev pass the offset as two longs (pos_l, pos_h): a pair, never aligned.</summary>
    private static readonly Dictionary<string, int> UnalignedPairs = new() { ["preadv"] = 3, ["pwritev"] = 3 };

    /// <summary>_llseek takes its offset as offset_high then offset_low: one parameter from two registers, high word first.</summary>
    private static readonly Dictionary<string, int> HighFirstPairs = new() { ["_llseek"] = 1 };

    /// <summary>The register each handler parameter comes from, where it is not the parameter's own index.</summary>
    private static readonly Dictionary<string, int[]> Orders = new()
    {
        // CLONE_BACKWARDS (i386 and ARM): clone(flags, newsp, parent_tid, tls, child_tid).
        ["clone"] = [0, 1, 2, 4, 3],
    };

    /// <summary>The uid16 calls: an id that does not fit 16 bits is reported as the overflow id, 65534.</summary>
    private static readonly HashSet<string> SixteenBitIds = ["getuid", "geteuid", "getgid", "getegid"];

    private readonly bool[] sixteenBit;

    /// <summary>The calls that keep 32-bit time_t on 32-bit ABIs (the kernel's *_time32 entry points).</summary>
    private static readonly HashSet<string> OldTimeCalls = ["clock_gettime", "clock_settime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "settimeofday", "futex", "time", "rt_sigtimedwait", "timer_settime", "timer_gettime", "ppoll", "pselect6", "utimensat", "ipc"];

    private readonly bool[] oldTime;

    private protected Linux32Personality((string Name, int Number)[] numbers, IReadOnlyDictionary<string, string> aliases, bool alignPairs)
        : base(numbers, aliases)
    {
        plans = new (Source, byte)[]?[byNumber.Length];
        sixteenBit = new bool[byNumber.Length];
        oldTime = new bool[byNumber.Length];
        foreach (var (name, number, definition) in Table)
        {
            if (definition is null || number >= byNumber.Length)
                continue;
            plans[number] = Plan(name, definition, alignPairs);
            sixteenBit[number] = SixteenBitIds.Contains(name);
            oldTime[number] = OldTimeCalls.Contains(name);
        }
    }

    private static (Source, byte)[]? Plan(string name, SyscallDefinition definition, bool alignPairs)
    {
        var parameters = definition.Parameters;
        var plan = new (Source, byte)[parameters.Length];
        var wide = WideArguments.GetValueOrDefault(name) ?? [];
        var order = Orders.GetValueOrDefault(name);
        var unaligned = UnalignedPairs.TryGetValue(name, out var pairAt) ? pairAt : -1;
        var highFirst = HighFirstPairs.TryGetValue(name, out var highAt) ? highAt : -1;
        var register = 0;
        var plain = true;
        for (var index = 0; index < parameters.Length; index++)
        {
            if (index == highFirst)
            {
                plan[index] = (Source.HighFirstPair, (byte)register);
                register += 2;
                plain = false;
                continue;
            }
            if (wide.Contains(index) || index == unaligned)
            {
                if (alignPairs && index != unaligned && register % 2 == 1)
                    register++;
                plan[index] = (Source.Pair, (byte)register);
                register += 2;
                plain = false;
                continue;
            }
            var from = order is not null ? order[index] : register;
            var signed = parameters[index].Type == typeof(long);
            plan[index] = (signed ? Source.Sign : Source.Zero, (byte)from);
            plain &= !signed && from == index;
            register++;
        }
        return plain ? null : plan;
    }

    /// <summary>Decodes the raw 32-bit registers for call <paramref name="number"/> and serves it.</summary>
    private protected void Serve32(GuestThread thread, Trapeze.Cpu.ICpu cpu, ulong number, ReadOnlySpan<ulong> registers, ulong nextInstruction)
    {
        var definition = Find(number);
        thread.OldTimeLayout = number < (ulong)oldTime.Length && oldTime[number];
        SyscallArguments arguments = default;
        var plan = number < (ulong)plans.Length ? plans[number] : null;
        if (plan is null)
        {
            arguments.Arg0 = (uint)registers[0];
            arguments.Arg1 = (uint)registers[1];
            arguments.Arg2 = (uint)registers[2];
            arguments.Arg3 = (uint)registers[3];
            arguments.Arg4 = (uint)registers[4];
            arguments.Arg5 = (uint)registers[5];
        }
        else
        {
            Span<ulong> values = stackalloc ulong[6];
            for (var index = 0; index < plan.Length && index < 6; index++)
            {
                var (kind, register) = plan[index];
                values[index] = kind switch
                {
                    Source.Sign => (ulong)(long)(int)registers[register],
                    Source.Pair => (uint)registers[register] | ((ulong)(uint)registers[register + 1] << 32),
                    Source.HighFirstPair => ((ulong)(uint)registers[register] << 32) | (uint)registers[register + 1],
                    _ => (uint)registers[register],
                };
            }
            arguments = new SyscallArguments { Arg0 = values[0], Arg1 = values[1], Arg2 = values[2], Arg3 = values[3], Arg4 = values[4], Arg5 = values[5] };
        }
        TranslateArguments(number, ref arguments);
        Serve(thread, cpu, number, definition, arguments, nextInstruction, number < (ulong)sixteenBit.Length && sixteenBit[number] ? 1UL : 0);
    }

    /// <summary>Flag values that differ from the kernel's own (x86's) vocabulary, turned into it before the handler runs.</summary>
    private protected virtual void TranslateArguments(ulong number, ref SyscallArguments arguments)
    {
    }

    /// <summary>The result as a 32-bit register holds it (the flags word marks the uid16 calls).</summary>
    private protected static ulong Narrow(long value, ulong flags)
    {
        if (flags == 1 && value > 0xffff)
            value = 65534;
        return (uint)value;
    }
}
