using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>
/// Every program built from tests/cases runs natively and under `trapeze run` on the Unicorn
/// platform: exit code, stdout and the files it writes into its scratch directory must match.
/// <see cref="NativeDifferentialTests"/> runs the same cases on the native platform.
/// </summary>
public sealed class DifferentialTests
{
    /// <summary>Cases Unicorn cannot pass, and why: they check what only the host CPU does exactly.</summary>
    public static readonly IReadOnlyDictionary<string, string> UnicornLeavesOut = new Dictionary<string, string>
    {
        ["fp_exact"] = "Unicorn 2.1's TCG sets no SSE exception flags in MXCSR and computes x87 fprem/fyl2x/f2xm1/fpatan at double precision",
        ["sse_alignment"] = "Unicorn 2.1's TCG does not check the alignment of SSE operands: a misaligned movaps runs instead of faulting (docs/SECURITY.md)",
    };

    public static TheoryData<string> Cases() => CasesFor(name => !UnicornLeavesOut.ContainsKey(name.Split('.')[0]));

    /// <summary>Every case but those the native platform leaves out (all are x86-64 programs).</summary>
    public static TheoryData<string> AllCases() => CasesFor(name => !NativeLeavesOut.ContainsKey(name.Split('.')[0]));

    /// <summary>Cases the native platform cannot pass yet, and why.</summary>
    public static readonly IReadOnlyDictionary<string, string> NativeLeavesOut = new Dictionary<string, string>
    {
    };

    private static TheoryData<string> CasesFor(Func<string, bool> included)
    {
        var data = new TheoryData<string>();
        if (!Directory.Exists(Runner.CasesBuild))
            throw new InvalidOperationException("tests/cases/build is missing: run tests/cases/build.sh (./test does)");
        foreach (var file in Directory.GetFiles(Runner.CasesBuild).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            if (!file.EndsWith(".args", StringComparison.Ordinal) && included(name))
                data.Add(name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesNative(string name) => Compare(name, "unicorn");

    /// <summary>Runs case <paramref name="name"/> natively and under `trapeze run --platform <paramref name="platform"/>`.</summary>
    internal static void Compare(string name, string platform)
    {
        var program = Path.Combine(Runner.CasesBuild, name);
        var native = RunIn(program, name, (arguments, _) => Runner.Run(program, arguments));
        var emulated = RunIn(program, name, (arguments, _) => Runner.Run(Runner.Trapeze, ["run", "--platform", platform, "--", program, .. arguments]));

        Assert.Equal(native.Result.Stdout, emulated.Result.Stdout);
        Assert.Equal(native.Result.ExitCode, emulated.Result.ExitCode);
        Assert.Equal(native.Files, emulated.Files);
    }

    private sealed record Outcome(RunResult Result, SortedDictionary<string, string> Files);

    /// <summary>Runs with a fresh scratch directory for $TMP; returns the result with $TMP put back, and the files left there.</summary>
    private static Outcome RunIn(string program, string name, Func<string[], string, RunResult> run)
    {
        var scratch = Directory.CreateTempSubdirectory("trapeze-case-").FullName;
        try
        {
            var argumentsFile = program + ".args";
            var arguments = File.Exists(argumentsFile)
                ? File.ReadAllText(argumentsFile).Trim().Replace("$TMP", scratch).Split(' ', StringSplitOptions.RemoveEmptyEntries)
                : [];
            var result = run(arguments, scratch);
            result = result with { Stdout = result.Stdout.Replace(scratch, "$TMP") };
            var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var file in Directory.GetFiles(scratch, "*", SearchOption.AllDirectories))
                files[Path.GetRelativePath(scratch, file)] = Convert.ToHexString(File.ReadAllBytes(file));
            return new Outcome(result, files);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }
}

/// <summary>The differential cases on the native platform (guest code on the host CPU under seccomp).</summary>
public sealed class NativeDifferentialTests
{
    [Theory]
    [MemberData(nameof(DifferentialTests.AllCases), MemberType = typeof(DifferentialTests))]
    public void MatchesNativeOnNativePlatform(string name) => DifferentialTests.Compare(name, "native");
}
