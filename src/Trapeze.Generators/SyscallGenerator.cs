using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Trapeze.Generators;

/// <summary>
/// Turns every method marked [Syscall("name")] into an entry of SyscallCatalog.Definitions:
/// a delegate that decodes the raw argument registers into the handler's typed parameters,
/// plus the parameter names and types that the tracer and the support table use.
/// </summary>
[Generator]
public sealed class SyscallGenerator : IIncrementalGenerator
{
    private const string AttributeName = "Trapeze.Kernel.Syscalls.SyscallAttribute";
    private const string ArgumentAttributeName = "Trapeze.Kernel.Syscalls.ArgumentAttribute";

    private static readonly DiagnosticDescriptor BadHandler = new(
        "TRAPEZE001", "Invalid syscall handler",
        "Syscall handler {0}: {1}", "Trapeze", DiagnosticSeverity.Error, isEnabledByDefault: true);

    private static readonly DiagnosticDescriptor UnstatedSupport = new(
        "TRAPEZE002", "Syscall handler without a support level",
        "Syscall handler {0} ({1}) must state Support = Full, Partial or Unsupported: none is assumed", "Trapeze", DiagnosticSeverity.Error, isEnabledByDefault: true);

    private static readonly DiagnosticDescriptor AliasTooSupported = new(
        "TRAPEZE003", "Alias more supported than its handler",
        "Syscall {0} ({1}) is marked {2} but calls {3}, which is marked {4}: an alias cannot do more than the handler it calls", "Trapeze", DiagnosticSeverity.Error, isEnabledByDefault: true);

    private static readonly string[] SupportNames = { "Full", "Partial", "Unsupported" };

    private sealed class Entry
    {
        public string Name = "";
        public int Support = -1;
        public string? AliasOf;
        public int AliasSupport = -1;
        public string Family = "";
        public string Note = "";
        public string Method = "";
        public string Call = "";
        public int Returns;
        public List<(string Name, string Type)> Parameters = new List<(string, string)>();
        public List<string> Formats = new List<string>();
        public string? Error;
        public Location? Location;
    }

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var entries = context.SyntaxProvider.ForAttributeWithMetadataName(
            AttributeName,
            static (node, _) => node is MethodDeclarationSyntax,
            static (attributeContext, _) => Describe(attributeContext))
            .SelectMany(static (list, _) => list)
            .Collect();
        context.RegisterSourceOutput(entries, Emit);
    }

    private static ImmutableArray<Entry> Describe(GeneratorAttributeSyntaxContext context)
    {
        var method = (IMethodSymbol)context.TargetSymbol;
        var builder = ImmutableArray.CreateBuilder<Entry>();
        foreach (var attribute in context.Attributes)
        {
            var entry = new Entry
            {
                Name = (string)attribute.ConstructorArguments[0].Value!,
                Method = method.ContainingType.Name + "." + method.Name,
                Family = method.ContainingType.Name,
                Location = method.Locations.FirstOrDefault(),
            };
            if (CalledHandler(context, method) is { } target)
                (entry.AliasOf, entry.AliasSupport) = target;
            foreach (var named in attribute.NamedArguments)
            {
                if (named.Key == "Support")
                    entry.Support = (int)named.Value.Value!;
                else if (named.Key == "Note")
                    entry.Note = (string)named.Value.Value!;
                else if (named.Key == "Returns")
                    entry.Returns = (int)named.Value.Value!;
            }
            entry.Error = Validate(method);
            if (entry.Error is null)
                entry.Call = BuildCall(method, entry.Parameters);
            if (entry.Error is null)
                entry.Error = DescribeFormats(method, entry.Formats);
            builder.Add(entry);
        }
        return builder.ToImmutable();
    }

    /// <summary>
    /// The [Syscall] handler an alias forwards to: a method whose whole body is one call to
    /// another handler (`=> ReadLinkAt(...)`), with the weakest support level that handler states.
    /// </summary>
    private static (string Name, int Support)? CalledHandler(GeneratorAttributeSyntaxContext context, IMethodSymbol method)
    {
        if (context.TargetNode is not MethodDeclarationSyntax declaration)
            return null;
        var body = declaration.ExpressionBody?.Expression
            ?? (declaration.Body?.Statements.Count == 1 && declaration.Body.Statements[0] is ReturnStatementSyntax ret ? ret.Expression : null);
        if (body is not InvocationExpressionSyntax invocation
            || context.SemanticModel.GetSymbolInfo(invocation).Symbol is not IMethodSymbol called
            || SymbolEqualityComparer.Default.Equals(called, method))
            return null;
        var support = -1;
        foreach (var attribute in called.GetAttributes().Where(a => a.AttributeClass?.ToDisplayString() == AttributeName))
        {
            var stated = attribute.NamedArguments.Where(n => n.Key == "Support").Select(n => (int)n.Value.Value!).DefaultIfEmpty(-1).First();
            support = Math.Max(support, stated);
        }
        return support < 0 ? null : (called.ContainingType.Name + "." + called.Name, support);
    }

    private static string? Validate(IMethodSymbol method)
    {
        if (!method.IsStatic)
            return "must be static";
        if (method.ReturnType.ToDisplayString() != "Trapeze.Kernel.Syscalls.Result")
            return "must return Result";
        if (method.Parameters.Length == 0 || method.Parameters[0].Type.ToDisplayString() != "Trapeze.Kernel.Tasks.GuestThread")
            return "first parameter must be GuestThread";
        if (method.Parameters.Length > 7)
            return "takes at most six syscall arguments";
        foreach (var parameter in method.Parameters.Skip(1))
        {
            if (Decode(parameter.Type, "0") is null)
                return $"parameter '{parameter.Name}' has a type the generator cannot decode: {parameter.Type.ToDisplayString()}";
        }
        return null;
    }

    private static string BuildCall(IMethodSymbol method, List<(string Name, string Type)> parameters)
    {
        var arguments = new List<string> { "thread" };
        for (var index = 1; index < method.Parameters.Length; index++)
        {
            var parameter = method.Parameters[index];
            var type = parameter.Type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
            parameters.Add((parameter.Name, type));
            arguments.Add(Decode(parameter.Type, "arguments.Arg" + (index - 1))!);
        }
        var owner = method.ContainingType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
        return $"{owner}.{method.Name}({string.Join(", ", arguments)})";
    }

    /// <summary>
    /// The tracer's view of each parameter from its [Argument] attribute: kind, direction, and the
    /// index of the parameter holding its size (-1 the result, -2 none).
    /// </summary>
    private static string? DescribeFormats(IMethodSymbol method, List<string> formats)
    {
        var names = method.Parameters.Skip(1).Select(p => p.Name).ToList();
        foreach (var parameter in method.Parameters.Skip(1))
        {
            var attribute = parameter.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == ArgumentAttributeName);
            if (attribute is null)
            {
                formats.Add(")");
                continue;
            }
            var kind = attribute.ConstructorArguments.Length > 0 ? (int)attribute.ConstructorArguments[0].Value! : 0;
            int direction = 0, size = -2;
            var hex = false;
            var initializers = new List<string>();
            foreach (var named in attribute.NamedArguments)
            {
                switch (named.Key)
                {
                    case "Direction":
                        direction = (int)named.Value.Value!;
                        break;
                    case "Hex":
                        hex = (bool)named.Value.Value!;
                        break;
                    case "SizeFrom":
                        var from = (string)named.Value.Value!;
                        size = from == "return" ? -1 : names.IndexOf(from);
                        if (size == -1 && from != "return")
                            return $"parameter '{parameter.Name}' takes its size from '{from}', which is no parameter";
                        break;
                    case "Enum":
                        var type = (ITypeSymbol)named.Value.Value!;
                        initializers.Add($"Enum = typeof({type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat)})");
                        break;
                    case "ShownIf":
                        var decider = names.IndexOf((string)named.Value.Value!);
                        if (decider < 0)
                            return $"parameter '{parameter.Name}' is shown depending on '{named.Value.Value}', which is no parameter";
                        initializers.Add($"ShownIf = {decider}");
                        break;
                    case "ShownIfAny":
                        initializers.Add($"ShownIfAny = {(long)named.Value.Value!}L");
                        break;
                }
            }
            var format = $", (ArgumentKind){kind}, (Direction){direction}, {size}, {(hex ? "true" : "false")})";
            if (initializers.Count > 0)
                format += " { " + string.Join(", ", initializers) + " }";
            formats.Add(format);
        }
        return null;
    }

    /// <summary>How a raw 64-bit register becomes a value of <paramref name="type"/>.</summary>
    private static string? Decode(ITypeSymbol type, string register)
    {
        var name = type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
        if (type.TypeKind == TypeKind.Enum && type is INamedTypeSymbol { EnumUnderlyingType: { } underlying })
            return $"({name})({underlying.ToDisplayString()}){register}";
        switch (type.SpecialType)
        {
            case SpecialType.System_Int32: return $"(int){register}";
            case SpecialType.System_UInt32: return $"(uint){register}";
            case SpecialType.System_Int64: return $"(long){register}";
            case SpecialType.System_UInt64: return register;
        }
        if (name is "global::Trapeze.Kernel.Memory.GuestAddress" or "global::Trapeze.Kernel.Memory.CString")
            return $"new {name}({register})";
        return null;
    }

    private static void Emit(SourceProductionContext context, ImmutableArray<Entry> entries)
    {
        var source = new StringBuilder();
        source.AppendLine("// <auto-generated>Generated by Trapeze.Generators.SyscallGenerator. Do not edit.</auto-generated>");
        source.AppendLine("#nullable enable");
        source.AppendLine("namespace Trapeze.Kernel.Syscalls;");
        source.AppendLine();
        source.AppendLine("public static partial class SyscallCatalog");
        source.AppendLine("{");
        source.AppendLine("    /// <summary>Every declared handler, sorted by syscall name.</summary>");
        source.AppendLine("    public static readonly SyscallDefinition[] Definitions =");
        source.AppendLine("    [");
        foreach (var entry in entries.OrderBy(e => e.Name, System.StringComparer.Ordinal))
        {
            if (entry.Error is not null)
            {
                context.ReportDiagnostic(Diagnostic.Create(BadHandler, entry.Location, entry.Method, entry.Error));
                continue;
            }
            if (entry.Support < 0)
            {
                context.ReportDiagnostic(Diagnostic.Create(UnstatedSupport, entry.Location, entry.Method, entry.Name));
                continue;
            }
            if (entry.AliasOf is not null && entry.Support < entry.AliasSupport)
            {
                context.ReportDiagnostic(Diagnostic.Create(AliasTooSupported, entry.Location, entry.Name, entry.Method,
                    SupportNames[entry.Support], entry.AliasOf, SupportNames[entry.AliasSupport]));
                continue;
            }
            var parameters = string.Join(", ", entry.Parameters.Select((p, index) => $"new(\"{p.Name}\", typeof({p.Type}){entry.Formats[index]}"));
            source.AppendLine($"        new(\"{entry.Name}\", (Support){entry.Support}, {Literal(entry.Note)}, \"{entry.Method}\",");
            source.AppendLine($"            static (global::Trapeze.Kernel.Tasks.GuestThread thread, in SyscallArguments arguments) => {entry.Call},");
            source.AppendLine($"            [{parameters}], (ResultKind){entry.Returns}),");
        }
        source.AppendLine("    ];");
        source.AppendLine("}");
        context.AddSource("SyscallCatalog.g.cs", source.ToString());
    }

    private static string Literal(string text)
        => "\"" + text.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
