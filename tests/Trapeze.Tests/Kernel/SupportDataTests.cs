using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Trapeze.Generators;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Tests.Kernel;

/// <summary>Support data is honest: every handler states its level, and no alias claims more than the handler it calls.</summary>
public sealed class SupportDataTests
{
    private const string Usings = "using Trapeze.Kernel; using Trapeze.Kernel.Syscalls; using Trapeze.Kernel.Tasks;\n";

    private static ImmutableArray<Diagnostic> Generate(string source)
    {
        var references = AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => !a.IsDynamic && a.Location.Length > 0)
            .Select(a => MetadataReference.CreateFromFile(a.Location))
            .Append(MetadataReference.CreateFromFile(typeof(SyscallAttribute).Assembly.Location));
        var compilation = CSharpCompilation.Create("Probe", [CSharpSyntaxTree.ParseText(Usings + source)], references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        CSharpGeneratorDriver.Create(new SyscallGenerator()).RunGeneratorsAndUpdateCompilation(compilation, out _, out var diagnostics);
        return diagnostics;
    }

    [Fact]
    public void HandlerWithoutSupportIsAnError()
    {
        var diagnostics = Generate("public static class Probe { [Syscall(\"getpid\")] public static Result P(GuestThread t) => 0; }");
        Assert.Contains(diagnostics, d => d.Id == "TRAPEZE002" && d.GetMessage().Contains("getpid"));
    }

    [Fact]
    public void HandlerWithSupportIsAccepted()
    {
        var diagnostics = Generate("public static class Probe { [Syscall(\"getpid\", Support = Support.Full)] public static Result P(GuestThread t) => 0; }");
        Assert.DoesNotContain(diagnostics, d => d.Id.StartsWith("TRAPEZE", StringComparison.Ordinal));
    }

    [Fact]
    public void AliasMoreSupportedThanItsHandlerIsAnError()
    {
        var diagnostics = Generate("""
            public static class Probe
            {
                [Syscall("stat", Support = Support.Full)] public static Result Alias(GuestThread t, int x) => Handler(t, x, 0);
                [Syscall("newfstatat", Support = Support.Partial, Note = "n")] public static Result Handler(GuestThread t, int x, int y) => 0;
            }
            """);
        Assert.Contains(diagnostics, d => d.Id == "TRAPEZE003" && d.GetMessage().Contains("stat") && d.GetMessage().Contains("Partial"));
    }

    [Fact]
    public void AliasAsSupportedAsItsHandlerIsAccepted()
    {
        var diagnostics = Generate("""
            public static class Probe
            {
                [Syscall("stat", Support = Support.Partial, Note = "n")] public static Result Alias(GuestThread t, int x) => Handler(t, x, 0);
                [Syscall("newfstatat", Support = Support.Partial, Note = "n")] public static Result Handler(GuestThread t, int x, int y) => 0;
            }
            """);
        Assert.DoesNotContain(diagnostics, d => d.Id.StartsWith("TRAPEZE", StringComparison.Ordinal));
    }

    /// <summary>
    /// Handlers of the families being rewritten for issue 9 that state no level yet show as Partial
    /// "support level not yet stated", never Full. This list must only shrink.
    /// </summary>
    [Fact]
    public void UnstatedHandlersAreOnlyThoseAwaitingReview()
    {
        var unstated = SyscallCatalog.Definitions.Where(d => d.Note == "support level not yet stated").Select(d => d.Name).Order().ToList();
        Assert.All(unstated, name => Assert.Equal(Trapeze.Kernel.Syscalls.Support.Partial, SyscallCatalog.Definitions.First(d => d.Name == name).Support));
        Assert.Subset(new HashSet<string>(["exit_group", "getpid", "getppid", "gettid", "set_tid_address", "set_robust_list", "getpgrp", "getpgid",
            "getsid", "rt_sigprocmask", "clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep", "pipe", "dup", "dup2", "dup3"]),
            unstated.ToHashSet());
        Assert.All(SyscallCatalog.Definitions, d => Assert.True(Enum.IsDefined(d.Support), $"{d.Name}: {d.Support}"));
    }
}
