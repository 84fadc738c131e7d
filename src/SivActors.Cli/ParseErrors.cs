using System.CommandLine;
using System.CommandLine.Parsing;

namespace SivActors.Cli;

/// <summary>
/// The one place where a command line that does not parse becomes the line the user reads: it names what they
/// typed (the unknown command, the option without its value, the value that is not a number) and what was
/// expected, in the domain's words rather than .NET's.
/// </summary>
public static class ParseErrors
{
    /// <summary>What each option's value is, said the way a user would ask for it.</summary>
    private static readonly Dictionary<string, string> Expected = new(StringComparer.Ordinal)
    {
        ["--duration"] = "a number of seconds",
        ["--join-timeout"] = "a number of seconds",
        ["--containers"] = "a whole number of containers",
        ["--seed"] = "a whole number",
        ["--workers"] = "a whole number of workers",
        ["--port"] = "a port number",
        ["--shards-per-host"] = "a whole number of shards",
        ["--host"] = "a host index (0, 1, ...)",
        ["--asid"] = "an ASID (decimal or 0x hex)",
        ["--format"] = "json or table",
    };

    public static string Describe(ParseResult parsed)
    {
        // An option's value first: a missing or mistyped value also leaves later tokens unmatched.
        // An option not on the command line has its value from the environment: its error says what was wrong there.
        foreach (var error in parsed.Errors)
            if (OptionOf(error.SymbolResult) is { } option)
                return option.Implicit ? error.Message : DescribeValue(option);
        var command = parsed.CommandResult.Command;
        var path = PathOf(parsed.CommandResult);
        if (parsed.UnmatchedTokens.Count > 0)
        {
            var token = parsed.UnmatchedTokens[0];
            if (token.StartsWith('-'))
                return $"unknown option {token} for {path} (options: {string.Join(", ", command.Options.Where(o => !o.Hidden && o.Name.StartsWith("--", StringComparison.Ordinal)).Select(o => o.Name))})";
            if (command.Subcommands.Count > 0)
                return $"unknown command \"{token}\" for {path} (commands: {Names(command)})";
            return $"unexpected argument \"{token}\" for {path}";
        }
        foreach (var error in parsed.Errors)
            if (error.SymbolResult is ArgumentResult { Argument: var argument } && argument.Name.All(c => !char.IsLower(c)))
                return $"{path} needs {argument.Name} ({argument.Description?.TrimEnd('.').ToLowerInvariant() ?? "an argument"})";
        if (command.Subcommands.Count > 0 && command.Action is null)
            return $"{path} needs a command: {Names(command)}";
        return parsed.Errors[0].Message;
    }

    private static string DescribeValue(OptionResult result)
    {
        var name = result.Option.Name;
        var expected = Expected.GetValueOrDefault(name) ?? (result.Option.ValueType == typeof(string) ? "a value" : "a number");
        var value = result.Tokens.FirstOrDefault()?.Value;
        return value switch
        {
            null or "" => $"{name} needs a value ({expected})",
            _ when value.StartsWith("--", StringComparison.Ordinal) => $"{name} needs a value ({expected}) before {value}",
            _ => $"{name} = {value} is not {expected}",
        };
    }

    private static OptionResult? OptionOf(SymbolResult? result) => result switch
    {
        OptionResult o => o,
        ArgumentResult { Parent: OptionResult o } => o,
        _ => null,
    };

    private static string PathOf(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is not null; r = r.Parent)
            if (r is CommandResult c) names.Add(c.Parent is null ? "siv" : c.Command.Name);
        names.Reverse();
        return string.Join(' ', names);
    }

    private static string Names(Command command) => string.Join(", ", command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name));
}
