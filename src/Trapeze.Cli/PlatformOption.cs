using System.CommandLine;
using Trapeze.Cpu;
using Trapeze.Cpu.Native;
using Trapeze.Cpu.Unicorn;

namespace Trapeze.Cli;

/// <summary>
/// `--platform unicorn|native|auto` and `--verbose`: where guest code runs. Native runs x86-64 guest
/// code on the host CPU in a child process under seccomp; every other CPU stays on Unicorn.
/// </summary>
internal static class PlatformOption
{
    public delegate IPlatform? PlatformReader(ParseResult result, out string error);

    /// <summary>Adds the options; with <paramref name="deterministic"/> set, the run must count guest progress (Unicorn only).</summary>
    public static PlatformReader AddTo(Command command, Option<bool>? deterministic = null)
    {
        var platform = new Option<string>("--platform")
        {
            Description = "Where guest code runs: unicorn (emulated, any CPU), native (x86-64 code on the host CPU under seccomp; other CPUs on Unicorn), auto (native where the host allows it)",
            DefaultValueFactory = _ => "unicorn",
            HelpName = "unicorn|native|auto",
        };
        platform.AcceptOnlyFromAmong("unicorn", "native", "auto");
        var verbose = new Option<bool>("--verbose") { Description = "Say which platform runs the guest's code" };
        command.Options.Add(platform);
        command.Options.Add(verbose);
        return (ParseResult result, out string error) => Choose(result.GetValue(platform)!, result.GetValue(verbose), Console.Error, out error,
            countExecution: deterministic is not null && result.GetValue(deterministic));
    }

    public static IPlatform? Choose(string name, bool verbose, TextWriter diagnostics, out string error, bool countExecution = false)
    {
        error = "";
        var unicorn = new UnicornPlatform(countExecution);
        if (countExecution && name == "native")
        {
            error = "--deterministic needs --platform unicorn: the native platform does not count guest instructions yet";
            return null;
        }
        if (name == "unicorn" || countExecution)
        {
            if (verbose)
                diagnostics.WriteLine("trapeze: platform unicorn (emulated CPU)");
            return unicorn;
        }
        if (NativePlatform.Probe(out var reason) is { } native)
            return new ByArchitecture(native, unicorn, verbose ? diagnostics : null);
        if (name == "native")
        {
            error = $"--platform native is not available here: {reason}";
            return null;
        }
        if (verbose)
            diagnostics.WriteLine($"trapeze: platform unicorn (native is not available: {reason})");
        return unicorn;
    }

    /// <summary>x86-64 CPUs native, the others Unicorn's; with a writer, each kind says itself once.</summary>
    private sealed class ByArchitecture(NativePlatform native, UnicornPlatform unicorn, TextWriter? verbose) : IPlatform
    {
        private bool toldNative, toldUnicorn;

        public string Name => "native";

        public ICpu CreateCpu(ICpuEvents events, CpuArchitecture architecture = CpuArchitecture.X86_64)
        {
            if (native.Runs(architecture))
            {
                if (verbose is not null && !toldNative)
                    verbose.WriteLine("trapeze: platform native (x86-64 guest code on the host CPU, system calls trapped by seccomp)");
                toldNative = true;
                return native.CreateCpu(events, architecture);
            }
            if (verbose is not null && !toldUnicorn)
                verbose.WriteLine($"trapeze: platform unicorn for {architecture} code (native runs x86-64 only)");
            toldUnicorn = true;
            return unicorn.CreateCpu(events, architecture);
        }
    }
}
