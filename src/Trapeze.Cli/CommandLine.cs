using System.CommandLine;

namespace Trapeze.Cli;

/// <summary>The trapeze command line: run, trace, syscalls, record, replay.</summary>
internal static class CommandLine
{
    /// <summary>The exit status of a command-line mistake, as getopt-style tools use.</summary>
    public const int UsageError = 2;

    private static readonly HashSet<string> CommandsTakingProgram = ["run", "trace", "record"];

    public static RootCommand Build()
    {
        var root = new RootCommand("Trapeze: a user-space Unix kernel that runs, traces and sandboxes Unix programs.");
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(TraceCommand.Create());
        root.Subcommands.Add(SyscallsCommand.Create());
        root.Subcommands.Add(RecordCommand.CreateRecord());
        root.Subcommands.Add(RecordCommand.CreateReplay());
        // Dispatched before this parser (Program.cs); listed here so --help names it.
        var oci = new Command("oci", "The OCI runtime command line (runc's): podman, containerd and Kubernetes run containers through Trapeze (docs/OCI.md)");
        oci.SetAction(_ => Console.Out.Write(Trapeze.Oci.OciRuntime.Usage));
        root.Subcommands.Add(oci);
        return root;
    }

    /// <summary>Parses and runs; an unknown option before PROGRAM is named (with the closest known one), exit 2.</summary>
    public static int Invoke(string[] args)
    {
        var root = Build();
        if (args.Length > 0 && root.Subcommands.FirstOrDefault(c => c.Name == args[0]) is { } command
            && CommandsTakingProgram.Contains(command.Name) && UnknownOption(command, args) is { } unknown)
        {
            var suggestion = Closest(unknown, OptionNames(command));
            Console.Error.WriteLine($"trapeze {command.Name}: unknown option {unknown}{(suggestion is null ? "" : $" (did you mean {suggestion}?)")}; see trapeze {command.Name} --help");
            return UsageError;
        }
        try
        {
            return root.Parse(MarkProgramBoundary(root, args)).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception exception)
        {
            // What no handler expected (an engine that refuses to start): one line, never a stack trace.
            Console.Error.WriteLine(Kernel.Kernel.InternalErrorLine(null, exception));
            if (args.Contains("--debug-internal"))
                Console.Error.WriteLine(exception.ToString());
            return InternalError;
        }
    }

    /// <summary>The exit status of an internal error: a guest killed by SIGSYS reports the same.</summary>
    public const int InternalError = 128 + 31;

    /// <summary>
    /// Everything from PROGRAM on belongs to the guest, even words that look like options
    /// (`trapeze run /bin/ls -la`). Inserting `--` before PROGRAM tells the parser so.
    /// </summary>
    public static string[] MarkProgramBoundary(RootCommand root, string[] args)
    {
        if (args.Length == 0 || !CommandsTakingProgram.Contains(args[0]) || root.Subcommands.FirstOrDefault(c => c.Name == args[0]) is not { } command)
            return args;
        var index = ProgramIndex(command, args);
        return index < args.Length && args[index] != "--" ? [.. args[..index], "--", .. args[index..]] : args;
    }

    /// <summary>The first word before PROGRAM that looks like an option but is none of the command's.</summary>
    private static string? UnknownOption(Command command, string[] args)
    {
        var known = OptionNames(command).ToHashSet();
        var end = ProgramIndex(command, args);
        for (var index = 1; index < end; index++)
        {
            var word = args[index];
            var inlineValue = word.StartsWith("--", StringComparison.Ordinal) && word.IndexOf('=') > 0;
            var name = inlineValue ? word[..word.IndexOf('=')] : word;
            if (!known.Contains(name))
                return name;
            if (!inlineValue && TakesValue(command, name))
                index++;
        }
        return null;
    }

    /// <summary>Where PROGRAM is (or "--" before it): the first word that is no option and no option's value.</summary>
    private static int ProgramIndex(Command command, string[] args)
    {
        for (var index = 1; index < args.Length; index++)
        {
            var word = args[index];
            if (word == "--" || !word.StartsWith('-') || word.Length == 1)
                return index;
            if (TakesValue(command, word))
                index++;
        }
        return args.Length;
    }

    private static IEnumerable<Option> AllOptions(Command command)
        => command.Options.Concat(command.Parents.OfType<Command>().SelectMany(parent => parent.Options.Where(o => o.Recursive)));

    private static IEnumerable<string> OptionNames(Command command)
        => AllOptions(command).SelectMany(option => option.Aliases.Prepend(option.Name)).Where(name => name.StartsWith('-'));

    private static bool TakesValue(Command command, string name)
        => AllOptions(command).Any(option => option.Arity.MaximumNumberOfValues > 0 && option.ValueType != typeof(bool)
            && (option.Name == name || option.Aliases.Contains(name)));

    /// <summary>The known option nearest to <paramref name="word"/> by edit distance, if any is reasonably near.</summary>
    internal static string? Closest(string word, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates.Order(StringComparer.Ordinal))
        {
            var distance = EditDistance(word.TrimStart('-'), candidate.TrimStart('-'));
            if (distance < bestDistance)
                (best, bestDistance) = (candidate, distance);
        }
        return best;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        var current = new int[b.Length + 1];
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
