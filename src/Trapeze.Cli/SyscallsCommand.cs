using System.CommandLine;
using System.Text;
using System.Text.Json;
using Trapeze.Kernel.Personalities;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Cli;

/// <summary>`trapeze syscalls [--json]`: the support table of the Linux x86-64 personality.</summary>
internal static class SyscallsCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a markdown table" };
        var command = new Command("syscalls", "Print which syscalls Trapeze supports") { json };
        command.SetAction(result =>
        {
            Console.Out.Write(result.GetValue(json) ? Json() : Markdown());
            return 0;
        });
        return command;
    }

    private static IEnumerable<(string Name, int Number, Support Support, string Note)> Rows()
        => new LinuxX64Personality().Table
            .OrderBy(row => row.Number)
            .Select(row => (row.Name, row.Number,
                row.Definition?.Support ?? Support.Unsupported,
                row.Definition?.Note ?? "not implemented: ENOSYS"));

    public static string Markdown()
    {
        var text = new StringBuilder();
        var rows = Rows().ToList();
        text.AppendLine("# Linux x86-64 syscalls in Trapeze");
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

    private static string Json()
    {
        var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartArray();
            foreach (var (name, number, support, note) in Rows())
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
