using System.CommandLine;
using Trapeze.Kernel;
using Trapeze.Kernel.Loader;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Cli;

/// <summary>`trapeze run [options] PROGRAM [ARGS...]`: the exit code is the guest's.</summary>
internal static class RunCommand
{
    public const int NotFound = 127;
    public const int CannotExecute = 126;

    public static Command Create()
    {
        var program = new Argument<string>("PROGRAM") { Description = "The program to run" };
        var arguments = new Argument<string[]>("ARGS") { Description = "Its arguments", Arity = ArgumentArity.ZeroOrMore };
        var set = new Option<string[]>("-E") { Description = "Set VAR=VALUE in the guest's environment (repeatable)" };
        var unset = new Option<string[]>("-U") { Description = "Remove VAR from the guest's environment (repeatable)" };
        var argv0 = new Option<string?>("--argv0") { Description = "argv[0] for the guest (default: PROGRAM)" };
        var reportUnsupported = new Option<bool>("--report-unsupported") { Description = "Name each unsupported syscall once on stderr" };
        var command = new Command("run", "Run a program under Trapeze") { program, arguments, set, unset, argv0, reportUnsupported };
        command.SetAction(result =>
        {
            var options = new KernelOptions
            {
                Platform = new Trapeze.Cpu.Unicorn.UnicornPlatform(),
                ReportUnsupported = result.GetValue(reportUnsupported),
                FileCreationMask = HostProcess.TakeFileCreationMask(),
            };
            var environment = GuestEnvironment.Build(result.GetValue(set) ?? [], result.GetValue(unset) ?? []);
            var path = result.GetValue(program)!;
            var argv = new List<string> { result.GetValue(argv0) ?? path };
            argv.AddRange(result.GetValue(arguments) ?? []);
            return Execute(options, path, argv, environment);
        });
        return command;
    }

    public static int Execute(KernelOptions options, string path, List<string> argv, List<string> environment)
    {
        using var kernel = new Kernel.Kernel(options);
        using var forwarding = kernel.ForwardHostSignals();
        ExitStatus status;
        try
        {
            status = kernel.Run(path, argv, environment);
        }
        catch (ExecutableNotFoundException error)
        {
            Console.Error.WriteLine($"trapeze: {error.Message}");
            return NotFound;
        }
        catch (ExecutableFormatException error)
        {
            Console.Error.WriteLine($"trapeze: {error.Message}");
            return CannotExecute;
        }
        if (status.Signal is { } signal)
            Console.Error.WriteLine($"trapeze: {path}: {ExitStatus.Describe(signal)}{(status.Detail is { } detail ? " " + detail : "")}");
        return status.Code;
    }
}

/// <summary>The guest's environment: Trapeze's own, edited like qemu-user's -E / -U.</summary>
internal static class GuestEnvironment
{
    public static List<string> Build(IEnumerable<string> set, IEnumerable<string> unset)
    {
        var variables = new List<KeyValuePair<string, string>>();
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
            variables.Add(new((string)entry.Key, (string?)entry.Value ?? ""));
        foreach (var name in unset)
            variables.RemoveAll(v => v.Key == name);
        foreach (var assignment in set)
        {
            var equals = assignment.IndexOf('=');
            var (name, value) = equals < 0 ? (assignment, "") : (assignment[..equals], assignment[(equals + 1)..]);
            variables.RemoveAll(v => v.Key == name);
            variables.Add(new(name, value));
        }
        return variables.Select(v => $"{v.Key}={v.Value}").ToList();
    }
}
