using System.CommandLine;
using Trapeze.Kernel;
using Trapeze.Kernel.Record;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Cli;

/// <summary>
/// `trapeze record -o FILE PROGRAM [ARGS...]` and `trapeze replay [--gdb ADDRESS] FILE`: a
/// deterministic run that keeps what the guest got from outside, and the run again from that file.
/// </summary>
internal static class RecordCommand
{
    /// <summary>A replay that stopped following its recording.</summary>
    public const int Diverged = 3;

    public static Command CreateRecord()
    {
        var program = new Argument<string>("PROGRAM") { Description = "The program to record" };
        var arguments = new Argument<string[]>("ARGS") { Description = "Its arguments", Arity = ArgumentArity.ZeroOrMore };
        var output = new Option<string>("-o") { HelpName = "FILE", Description = "The recording to write (run.tzr)", Required = true };
        var seed = new Option<ulong>("--seed") { HelpName = "N", Description = "The seed of the run's random bytes (default 0)" };
        var set = new Option<string[]>("-E") { HelpName = "VAR=VALUE", Description = "Set VAR=VALUE in the guest's environment (repeatable)" };
        var unset = new Option<string[]>("-U") { HelpName = "VAR", Description = "Remove VAR from the guest's environment (repeatable)" };
        var command = new Command("record", "Run a program deterministically and record what it gets from outside, for trapeze replay") { program, arguments, output, seed, set, unset };
        command.SetAction(result =>
        {
            var path = result.GetValue(program)!;
            var argv = new List<string> { path };
            argv.AddRange(result.GetValue(arguments) ?? []);
            var run = new RecordedRun(path, argv, GuestEnvironment.Build(result.GetValue(set) ?? [], result.GetValue(unset) ?? []),
                result.GetValue(seed), Environment.CurrentDirectory);
            var file = result.GetValue(output)!;
            RecordingWriter writer;
            try
            {
                writer = new RecordingWriter(File.Create(file), run);
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"trapeze record: {file}: {error.Message}");
                return CommandLine.UsageError;
            }
            using (writer)
            {
                var recorder = new Recorder(writer);
                var hooks = new RunCommand.RunHooks
                {
                    Prepare = kernel => kernel.HostSignalArrived = signal => writer.Signal((int)signal, kernel.Determinism!.Counter.Executed),
                    Ended = status =>
                    {
                        recorder.Finish(status);
                        return null;
                    },
                };
                return RunCommand.Execute(Options(run, recorder), run.Program, [.. run.Arguments], [.. run.Environment], hooks: hooks);
            }
        });
        return command;
    }

    public static Command CreateReplay()
    {
        var file = new Argument<string>("FILE") { Description = "A recording made by trapeze record" };
        var gdb = new Option<string?>("--gdb") { HelpName = "HOST:PORT|PATH", Description = "Stop before the first instruction and wait for gdb (reverse-step and reverse-continue work)" };
        var command = new Command("replay", "Run a recording again: the same output, without touching the host's files or network") { file, gdb };
        command.SetAction(result =>
        {
            Recording recording;
            try
            {
                recording = Recording.Load(result.GetValue(file)!);
            }
            catch (RecordingException error)
            {
                Console.Error.WriteLine($"trapeze replay: {error.Message}");
                return CommandLine.UsageError;
            }
            var replayer = new Replayer(recording);
            var run = recording.Run;
            var hooks = new RunCommand.RunHooks
            {
                // Signals from outside come from the recording, not from whoever signals this replay.
                ForwardSignals = false,
                Replay = replayer,
                Ended = status => replayer.Check(status) is not null ? Diverged : null,
            };
            return RunCommand.Execute(Options(run, replayer), run.Program, [.. run.Arguments], [.. run.Environment], gdbAddress: result.GetValue(gdb), hooks: hooks);
        });
        return command;
    }

    private static KernelOptions Options(RecordedRun run, ISyscallTracer tracer) => new()
    {
        Platform = new Trapeze.Cpu.Unicorn.UnicornPlatform(countExecution: true),
        Deterministic = true,
        Seed = run.Seed,
        Tracer = tracer,
        FileCreationMask = HostProcess.TakeFileCreationMask(),
        Layout = new Trapeze.Kernel.Vfs.FileSystemLayout { WorkingDirectory = run.WorkingDirectory },
    };
}
