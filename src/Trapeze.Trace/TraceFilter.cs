using System.Text.RegularExpressions;

namespace Trapeze.Trace;

/// <summary>
/// The -e qualifiers: trace= (names, %classes, /regex, all, none, ! to negate), status=
/// (successful, failed), signal= (which signals get a --- SIG --- line).
/// </summary>
public sealed class TraceFilter
{
    private readonly HashSet<string> names = [];
    private readonly List<Regex> patterns = [];
    private bool negated;
    private bool all = true;
    private readonly HashSet<int> signals = [];
    private bool signalsNegated = true;

    /// <summary>-e status=successful / -z.</summary>
    public bool OnlySuccessful { get; private set; }

    /// <summary>-e status=failed / -Z.</summary>
    public bool OnlyFailed { get; private set; }

    public bool FiltersByStatus => OnlySuccessful || OnlyFailed;

    public bool Traces(string name)
    {
        // strace always shows calls it has no name for, whatever the expression says.
        if (!KnownSyscalls.Contains(name))
            return true;
        if (all)
            return !negated;
        var listed = names.Contains(name) || patterns.Exists(p => p.IsMatch(name));
        return listed != negated;
    }

    public bool ShowsSignal(int signal) => signals.Contains(signal) != signalsNegated;

    /// <summary>Applies one -e expression; returns an error message for the user, or null.</summary>
    public string? Apply(string expression)
    {
        var equals = expression.IndexOf('=');
        var (qualifier, value) = equals < 0 ? ("trace", expression) : (expression[..equals], expression[(equals + 1)..]);
        return qualifier switch
        {
            "trace" or "t" => SetTrace(value),
            "status" => SetStatus(value),
            "signal" or "signals" or "s" => SetSignals(value),
            _ => $"invalid -e qualifier '{qualifier}' (known: trace, status, signal)",
        };
    }

    public void SetStatus(bool successful, bool failed)
    {
        OnlySuccessful = successful;
        OnlyFailed = failed;
    }

    private string? SetTrace(string value)
    {
        negated = value.StartsWith('!');
        if (negated)
            value = value[1..];
        names.Clear();
        patterns.Clear();
        all = value == "all";
        if (value == "none")
        {
            all = true;
            negated = !negated;
        }
        if (all)
            return null;
        foreach (var item in value.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            if (item.StartsWith('%'))
            {
                if (SyscallClasses.Members(item[1..]) is not { } members)
                    return $"invalid system call class '{item}' (known: {string.Join(", ", SyscallClasses.Names.Select(n => "%" + n))})";
                names.UnionWith(members);
            }
            else if (item.StartsWith('/'))
            {
                try
                {
                    patterns.Add(new Regex(item[1..], RegexOptions.CultureInvariant));
                }
                catch (ArgumentException error)
                {
                    return $"invalid regular expression '{item[1..]}': {error.Message}";
                }
            }
            else if (KnownSyscalls.Contains(item))
            {
                names.Add(item);
            }
            else
            {
                return $"invalid system call '{item}'";
            }
        }
        return null;
    }

    private string? SetStatus(string value)
    {
        var negate = value.StartsWith('!');
        var items = value.TrimStart('!').Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        if (items.FirstOrDefault(i => i is not ("successful" or "failed" or "unfinished" or "unavailable" or "detached" or "all" or "none")) is { } bad)
            return $"invalid status '{bad}'";
        var successful = items.Contains("successful") || items.Contains("all");
        var failed = items.Contains("failed") || items.Contains("all");
        if (negate)
            (successful, failed) = (!successful, !failed);
        SetStatus(successful && !failed, failed && !successful);
        return null;
    }

    private string? SetSignals(string value)
    {
        signalsNegated = value.StartsWith('!');
        signals.Clear();
        var items = value.TrimStart('!');
        if (items == "all")
        {
            signalsNegated = !signalsNegated;
            return null;
        }
        if (items == "none")
            return null;
        foreach (var item in items.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = item.StartsWith("SIG", StringComparison.Ordinal) ? item : "SIG" + item;
            if (int.TryParse(item, out var number) && number is > 0 and <= 64)
                signals.Add(number);
            else if (Enum.TryParse<Trapeze.Kernel.Abi.Linux.Signal>(name, out var signal))
                signals.Add((int)signal);
            else
                return $"invalid signal '{item}'";
        }
        return null;
    }

    private static readonly HashSet<string> KnownSyscalls =
        Trapeze.Kernel.Abi.Linux.LinuxX64SyscallNumbers.All.Select(e => e.Name).ToHashSet();
}
