using System.CommandLine;
using System.Text;
using System.Text.Json;
using Trapeze.Kernel.Personalities;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Cli;

/// <summary>`trapeze syscalls [--os linux|freebsd|darwin|sunos4] [--arch x86_64|i386|arm] [--json]`: the support table of a personality.</summary>
internal static class SyscallsCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a markdown table" };
        var arch = new Option<string>("--arch") { Description = "The personality: x86_64 (default), i386 or arm", DefaultValueFactory = _ => "x86_64" };
        arch.AcceptOnlyFromAmong("x86_64", "i386", "arm");
        var os = new Option<string>("--os") { Description = "The system: linux (default), freebsd, darwin or sunos4", DefaultValueFactory = _ => "linux" };
        os.AcceptOnlyFromAmong("linux", "freebsd", "darwin", "sunos4");
        var command = new Command("syscalls", "Print which syscalls Trapeze supports") { json, arch, os };
        command.SetAction(result =>
        {
            var system = result.GetValue(os)!;
            (string, LinuxPersonality)? personality = system switch
            {
                "linux" => Personality(result.GetValue(arch)!),
                // SunOS 4 runs on SPARC only: --arch does not apply.
                "sunos4" => ("SunOS 4 SPARC", new SunOsSparcPersonality()),
                _ => Other(system, result.GetValue(arch)!),
            };
            if (personality is null)
            {
                Console.Error.WriteLine($"trapeze: {system} has no {result.GetValue(arch)} personality");
                return 2;
            }
            Console.Out.Write(result.GetValue(json) ? Json(personality.Value) : Markdown(personality.Value));
            return 0;
        });
        return command;
    }

    private static (string Title, LinuxPersonality Personality) Personality(string arch) => arch switch
    {
        "i386" => ("Linux i386", new LinuxI386Personality()),
        "arm" => ("Linux ARM EABI", new LinuxArmPersonality()),
        _ => ("Linux x86-64", new LinuxX64Personality()),
    };

    private static (string Title, LinuxPersonality Personality)? Other(string system, string arch)
    {
        var abi = system == "darwin" ? BsdAbi.Darwin : BsdAbi.FreeBsd;
        var title = system == "darwin" ? "Darwin" : "FreeBSD";
        return arch switch
        {
            "x86_64" => ($"{title} x86-64", new BsdX64Personality(abi)),
            "i386" => ($"{title} i386", new BsdI386Personality(abi)),
            _ => null,
        };
    }

    private static IEnumerable<(string Name, int Number, Support Support, string Note)> Rows(LinuxPersonality personality)
        => personality.Table
            .OrderBy(row => row.Number)
            .Select(row => (row.Name, row.Number,
                row.Definition?.Support ?? Support.Unsupported,
                row.Definition?.Note ?? "not implemented: ENOSYS"));

    public static string Markdown() => Markdown(Personality("x86_64"));

    private static string Markdown((string Title, LinuxPersonality Personality) chosen)
    {
        var text = new StringBuilder();
        var rows = Rows(chosen.Personality).ToList();
        text.AppendLine($"# {chosen.Title} syscalls in Trapeze");
        text.AppendLine();
        foreach (var support in Enum.GetValues<Support>())
            text.AppendLine($"- {support}: {rows.Count(r => r.Support == support)}");
        text.AppendLine();
        text.AppendLine("| Number | Name | Support | Note |");
        text.AppendLine("|---:|---|---|---|");
        foreach (var (name, number, support, note) in rows)
            text.AppendLine($"| {number} | {name} | {support} | {note.Replace("|", "\\|")} |");
        return text.ToString();
    }

    private static string Json((string Title, LinuxPersonality Personality) chosen)
    {
        var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartArray();
            foreach (var (name, number, support, note) in Rows(chosen.Personality))
            {
                writer.WriteStartObject();
                writer.WriteNumber("number", number);
                writer.WriteString("name", name);
                writer.WriteString("support", support.ToString().ToLowerInvariant());
                writer.WriteString("note", note);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }
}
