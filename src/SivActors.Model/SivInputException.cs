namespace SivActors.Model;

/// <summary>
/// Bad input from a user: a scenario file, a CLI value or an explain document.
/// The message is one line that names the problem; the CLI prints it and exits with code 2.
/// </summary>
public sealed class SivInputException(string message) : Exception(message);
