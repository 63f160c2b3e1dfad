"""What `python -m agent ask` prints under an answer: an abstention's figure is labelled as how sure the decision
is that the knowledge lacks the answer, never as the answer's confidence."""
import pytest

from agent.surfaces.cli import main


@pytest.mark.parametrize("question, abstains", [("AM是什么意思？", False), ("公司的股票代码是多少？", True)])
def test_the_figure_under_an_answer_says_what_it_means(company_knowledge, question, abstains, capsys):
    assert main(["ask", question, "--knowledge", str(company_knowledge),
                 "--index", str(company_knowledge.parent / "index")]) == 0
    status = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")][-1]

    assert ("abstained" in status) == abstains
    assert ("sure the knowledge lacks it" in status) == abstains and ("· confidence" in status) != abstains
