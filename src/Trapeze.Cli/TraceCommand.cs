using System.CommandLine;
using Trapeze.Kernel;
using Trapeze.Trace;

namespace Trapeze.Cli;

/// <summary>`trapeze trace [options] PROGRAM [ARGS...]`: strace's output and options, without ptrace.</summary>
internal static class TraceCommand
{
    private const int UsageError = CommandLine.UsageError;

    public static Command Create()
    {
        var program = new Argument<string>("PROGRAM") { Description = "The program to trace" };
        var arguments = new Argument<string[]>("ARGS") { Description = "Its arguments", Arity = ArgumentArity.ZeroOrMore };
        var follow = new Option<bool>("-f") { Description = "Follow threads and children; prefix lines with [pid N] when there are several" };
        var separate = new Option<bool>("-ff") { Description = "With -o FILE: one file per process, FILE.pid" };
        var output = new Option<string?>("-o") { HelpName = "FILE", Description = "Write the trace to FILE instead of stderr" };
        var expressions = new Option<string[]>("-e") { HelpName = "EXPR", Description = "trace=SET (names, %file %process %network %signal %ipc %desc %memory %clock %creds, /regex, !negation), status=successful|failed, signal=SET" };
        var stringLimit = new Option<int>("-s") { HelpName = "N", Description = "Print at most N bytes of each string (default 32)", DefaultValueFactory = _ => 32 };
        var summaryOnly = new Option<bool>("-c") { Description = "Count time, calls and errors per syscall; print only the table" };
        var summaryAlso = new Option<bool>("-C") { Description = "Like -c, and print the trace too" };
        var sortBy = new Option<string?>("-S") { HelpName = "KEY", Description = "Sort the -c table by time (default), calls, errors, name or nothing" };
        var duration = new Option<bool>("-T") { Description = "Show the time spent in each syscall" };
        var seconds = new Option<bool>("-t") { Description = "Prefix lines with the time of day" };
        var microseconds = new Option<bool>("-tt") { Description = "Prefix lines with the time of day, with microseconds" };
        var epoch = new Option<bool>("-ttt") { Description = "Prefix lines with seconds since the epoch, with microseconds" };
        var relative = new Option<bool>("-r") { Description = "Prefix lines with the time since the previous one" };
        var paths = new Option<bool>("-y") { Description = "Print the path of each file descriptor" };
        var verbose = new Option<bool>("-v") { Description = "Print structures and environments in full" };
        var hex = new Option<bool>("-x") { Description = "Print non-ASCII strings in hex" };
        var allHex = new Option<bool>("-xx") { Description = "Print all strings in hex" };
        var successful = new Option<bool>("-z") { Description = "Print only successful syscalls" };
        var failed = new Option<bool>("-Z") { Description = "Print only failed syscalls" };
        var json = new Option<string?>("--json") { HelpName = "FILE", Description = "Write one JSON object per syscall to FILE" };
        var perfetto = new Option<string?>("--perfetto") { HelpName = "FILE", Description = "Write a Chrome trace-event JSON file (ui.perfetto.dev) to FILE" };
        var histogram = new Option<bool>("--histogram") { Description = "Print a latency histogram per syscall at the end" };
        var set = new Option<string[]>("-E") { HelpName = "VAR=VALUE", Description = "Set VAR=VALUE in the guest's environment (repeatable)" };
        var unset = new Option<string[]>("-U") { HelpName = "VAR", Description = "Remove VAR from the guest's environment (repeatable)" };
        var command = new Command("trace", "Run a program and print its system calls like strace")
        {
            program, arguments, follow, separate, output, expressions, stringLimit, summaryOnly, summaryAlso, sortBy,
            duration, seconds, microseconds, epoch, relative, paths, verbose, hex, allHex, successful, failed, json,
            perfetto, histogram, set, unset,
        };
        var layout = FileSystemOptions.AddTo(command);
        var platform = PlatformOption.AddTo(command);
        command.SetAction(result =>
        {
            var filter = new TraceFilter();
            foreach (var expression in result.GetValue(expressions) ?? [])
            {
                if (filter.Apply(expression) is { } error)
                    return Fail(error);
            }
            if (result.GetValue(successful) || result.GetValue(failed))
                filter.SetStatus(result.GetValue(successful), result.GetValue(failed));
            if (ParseSort(result.GetValue(sortBy)) is not { } sort)
                return Fail($"invalid -S sort key '{result.GetValue(sortBy)}' (time, calls, errors, name, nothing)");
            var limit = result.GetValue(stringLimit);
            if (limit < 0)
                return Fail("-s must not be negative");
            var options = new TraceOptions
            {
                Follow = result.GetValue(follow) || result.GetValue(separate),
                SeparateFiles = result.GetValue(separate),
                OutputPath = result.GetValue(output),
                StringLimit = limit,
                Filter = filter,
                Summary = result.GetValue(summaryAlso) ? SummaryMode.Also : result.GetValue(summaryOnly) ? SummaryMode.Only : SummaryMode.None,
                SummarySort = sort,
                Timestamps = result.GetValue(epoch) ? TimestampStyle.Epoch
                    : result.GetValue(microseconds) ? TimestampStyle.Microseconds
                    : result.GetValue(seconds) ? TimestampStyle.Seconds : TimestampStyle.None,
                RelativeTimestamps = result.GetValue(relative),
                ShowDuration = result.GetValue(duration),
                DecodeDescriptors = result.GetValue(paths),
                Verbose = result.GetValue(verbose),
                HexStrings = result.GetValue(allHex) ? 2 : result.GetValue(hex) ? 1 : 0,
                JsonPath = result.GetValue(json),
                PerfettoPath = result.GetValue(perfetto),
                Histogram = result.GetValue(histogram),
            };
            if (options.SeparateFiles && options.OutputPath is null)
                return Fail("-ff needs -o FILE");
            var environment = GuestEnvironment.Build(result.GetValue(set) ?? [], result.GetValue(unset) ?? []);
            var path = result.GetValue(program)!;
            var argv = new List<string> { path };
            argv.AddRange(result.GetValue(arguments) ?? []);
            if (layout(result, out var layoutError) is not { } fileSystem)
                return Fail(layoutError);
            if (platform(result, out var platformError) is not { } chosen)
                return Fail(platformError);
            return Execute(options, path, argv, environment, fileSystem, chosen);
        });
        return command;
    }

    private static int Execute(TraceOptions options, string path, List<string> argv, List<string> environment, Trapeze.Kernel.Vfs.FileSystemLayout layout, Trapeze.Cpu.IPlatform platform)
    {
        List<ITraceSink> sinks;
        TextWriter? text;
        try
        {
            (sinks, text) = CreateSinks(options);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return Fail($"cannot open an output file: {error.Message}");
        }
        // Lines to the terminal interleave with the guest's own output, so they are written as calls
        // happen; into files they are formatted on a thread of their own, off the dispatch path.
        var tracer = new Tracer(options, sinks, formatInBackground: text != Console.Error);
        var kernelOptions = new KernelOptions { Platform = platform, Tracer = tracer, FileCreationMask = HostProcess.TakeFileCreationMask(), Layout = layout };
        var code = RunCommand.Execute(kernelOptions, path, argv, environment);
        try
        {
            tracer.Finish();
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"trapeze trace: writing the trace failed: {error.Message}");
            code = code == 0 ? 1 : code;
        }
        tracer.Dispose();
        if (text is not null && text != Console.Error)
            text.Dispose();
        return code;
    }

    private static (List<ITraceSink>, TextWriter?) CreateSinks(TraceOptions options)
    {
        var sinks = new List<ITraceSink>();
        TextWriter? text = null;
        if (!options.SeparateFiles || options.Summary != SummaryMode.None || options.Histogram)
        {
            text = options.OutputPath is { } file && !options.SeparateFiles
                ? new StreamWriter(file, append: false, new System.Text.UTF8Encoding(false), 1 << 16)
                : Console.Error;
        }
        if (options.Summary != SummaryMode.Only)
            sinks.Add(new StraceWriter(options, text, flushEachLine: text == Console.Error));
        if (options.Summary != SummaryMode.None)
            sinks.Add(new SummaryTable(options, text!));
        if (options.Histogram)
            sinks.Add(new LatencyHistogram(text!));
        if (options.JsonPath is { } json)
            sinks.Add(new JsonEventWriter(File.Create(json)));
        if (options.PerfettoPath is { } perfetto)
            sinks.Add(new PerfettoWriter(File.Create(perfetto)));
        return (sinks, text);
    }

    private static SummarySort? ParseSort(string? key) => key switch
    {
        null or "time" or "time_total" or "total_time" => SummarySort.Time,
        "calls" or "count" => SummarySort.Calls,
        "errors" or "error" => SummarySort.Errors,
        "name" or "syscall" => SummarySort.Name,
        "nothing" or "none" => SummarySort.Nothing,
        _ => null,
    };

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"trapeze trace: {message}");
        return UsageError;
    }
}
