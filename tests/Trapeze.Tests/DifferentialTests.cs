using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>
/// Every program built from tests/cases runs natively and under `trapeze run`: exit code, stdout
/// and the files it writes into its scratch directory must match.
/// </summary>
public sealed class DifferentialTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        if (!Directory.Exists(Runner.CasesBuild))
            throw new InvalidOperationException("tests/cases/build is missing: run tests/cases/build.sh (./test does)");
        foreach (var file in Directory.GetFiles(Runner.CasesBuild).Order(StringComparer.Ordinal))
        {
            if (!file.EndsWith(".args", StringComparison.Ordinal))
                data.Add(Path.GetFileName(file));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesNative(string name)
    {
        var program = Path.Combine(Runner.CasesBuild, name);
        var native = RunIn(program, name, (arguments, _) => Runner.Run(program, arguments));
        var emulated = RunIn(program, name, (arguments, _) => Runner.Run(Runner.Trapeze, ["run", "--", program, .. arguments]));

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
