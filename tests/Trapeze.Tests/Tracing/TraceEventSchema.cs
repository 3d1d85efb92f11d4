using System.Text.Json;

namespace Trapeze.Tests.Tracing;

/// <summary>
/// The Chrome trace-event format's JSON object form, as a schema check: {"traceEvents": [...]}
/// where each event has a string name and ph, integer pid and tid, a number ts (microseconds),
/// X events a non-negative dur, M events args.name, i events a scope s of g, p or t.
/// </summary>
public static class TraceEventSchema
{
    public static List<string> Validate(JsonElement root)
    {
        var errors = new List<string>();
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("traceEvents", out var events) || events.ValueKind != JsonValueKind.Array)
        {
            errors.Add("root must be an object with a traceEvents array");
            return errors;
        }
        if (root.TryGetProperty("displayTimeUnit", out var unit) && unit.GetString() is not ("ms" or "ns"))
            errors.Add("displayTimeUnit must be ms or ns");
        var index = 0;
        foreach (var item in events.EnumerateArray())
        {
            var where = $"traceEvents[{index++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"{where}: not an object");
                continue;
            }
            Require(item, "name", JsonValueKind.String, where, errors);
            Require(item, "ph", JsonValueKind.String, where, errors);
            RequireInteger(item, "pid", where, errors);
            RequireInteger(item, "tid", where, errors);
            var phase = item.TryGetProperty("ph", out var ph) ? ph.GetString() : null;
            switch (phase)
            {
                case "X":
                    Require(item, "ts", JsonValueKind.Number, where, errors);
                    Require(item, "dur", JsonValueKind.Number, where, errors);
                    if (item.TryGetProperty("dur", out var duration) && duration.ValueKind == JsonValueKind.Number && duration.GetDouble() < 0)
                        errors.Add($"{where}: dur < 0");
                    if (item.TryGetProperty("args", out var arguments) && arguments.ValueKind != JsonValueKind.Object)
                        errors.Add($"{where}: args must be an object");
                    break;
                case "M":
                    if (!item.TryGetProperty("args", out var metadata) || !metadata.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
                        errors.Add($"{where}: metadata needs args.name");
                    break;
                case "i" or "I":
                    Require(item, "ts", JsonValueKind.Number, where, errors);
                    if (item.TryGetProperty("s", out var scope) && scope.GetString() is not ("g" or "p" or "t"))
                        errors.Add($"{where}: s must be g, p or t");
                    break;
                default:
                    errors.Add($"{where}: unexpected ph '{phase}'");
                    break;
            }
        }
        return errors;
    }

    private static void Require(JsonElement item, string property, JsonValueKind kind, string where, List<string> errors)
    {
        if (!item.TryGetProperty(property, out var value) || value.ValueKind != kind)
            errors.Add($"{where}: {property} must be a {kind}");
    }

    private static void RequireInteger(JsonElement item, string property, string where, List<string> errors)
    {
        if (!item.TryGetProperty(property, out var value) || value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out _))
            errors.Add($"{where}: {property} must be an integer");
    }
}
