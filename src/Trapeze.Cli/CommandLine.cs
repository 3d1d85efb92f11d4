using System.CommandLine;

namespace Trapeze.Cli;

/// <summary>The trapeze command line: run, trace, syscalls.</summary>
internal static class CommandLine
{
    /// <summary>Options of `run` and `trace` that take a value; the program name is the first other word.</summary>
    private static readonly HashSet<string> OptionsWithValue = ["-E", "-U", "--argv0", "--max-processes", "--net", "--personality", .. FileSystemOptions.WithValue, .. TraceCommand.OptionsWithValue];

    private static readonly HashSet<string> CommandsTakingProgram = ["run", "trace"];

    public static RootCommand Build()
    {
        var root = new RootCommand("Trapeze: a user-space Unix kernel that runs, traces and sandboxes Unix programs.");
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(TraceCommand.Create());
        root.Subcommands.Add(SyscallsCommand.Create());
        // Dispatched before this parser (Program.cs); listed here so --help names it.
        var oci = new Command("oci", "The OCI runtime command line (runc's): podman, containerd and Kubernetes run containers through Trapeze (docs/OCI.md)");
        oci.SetAction(_ => Console.Out.Write(Trapeze.Oci.OciRuntime.Usage));
        root.Subcommands.Add(oci);
        return root;
    }

    /// <summary>
    /// Everything from PROGRAM on belongs to the guest, even words that look like options
    /// (`trapeze run /bin/ls -la`). Inserting `--` before PROGRAM tells the parser so.
    /// </summary>
    public static string[] MarkProgramBoundary(string[] args)
    {
        if (args.Length == 0 || !CommandsTakingProgram.Contains(args[0]))
            return args;
        for (var index = 1; index < args.Length; index++)
        {
            var word = args[index];
            if (word == "--")
                return args;
            if (OptionsWithValue.Contains(word))
            {
                index++;
                continue;
            }
            if (word.StartsWith('-') && word.Length > 1)
                continue;
            return [.. args[..index], "--", .. args[index..]];
        }
        return args;
    }
}
